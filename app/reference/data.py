"""Reference data of the 9th-batch call (国标委发〔2022〕35号) and the 32 recommenders."""

from datetime import date, datetime
from typing import Any

from app.core.clock import BEIJING

# GB/T 2260 province-level codes of the 31 mainland provinces.
PROVINCES: list[tuple[str, str, str]] = [
    ("110000", "北京市", "Beijing"),
    ("120000", "天津市", "Tianjin"),
    ("130000", "河北省", "Hebei"),
    ("140000", "山西省", "Shanxi"),
    ("150000", "内蒙古自治区", "Inner Mongolia"),
    ("210000", "辽宁省", "Liaoning"),
    ("220000", "吉林省", "Jilin"),
    ("230000", "黑龙江省", "Heilongjiang"),
    ("310000", "上海市", "Shanghai"),
    ("320000", "江苏省", "Jiangsu"),
    ("330000", "浙江省", "Zhejiang"),
    ("340000", "安徽省", "Anhui"),
    ("350000", "福建省", "Fujian"),
    ("360000", "江西省", "Jiangxi"),
    ("370000", "山东省", "Shandong"),
    ("410000", "河南省", "Henan"),
    ("420000", "湖北省", "Hubei"),
    ("430000", "湖南省", "Hunan"),
    ("440000", "广东省", "Guangdong"),
    ("450000", "广西壮族自治区", "Guangxi"),
    ("460000", "海南省", "Hainan"),
    ("500000", "重庆市", "Chongqing"),
    ("510000", "四川省", "Sichuan"),
    ("520000", "贵州省", "Guizhou"),
    ("530000", "云南省", "Yunnan"),
    ("540000", "西藏自治区", "Xizang"),
    ("610000", "陕西省", "Shaanxi"),
    ("620000", "甘肃省", "Gansu"),
    ("630000", "青海省", "Qinghai"),
    ("640000", "宁夏回族自治区", "Ningxia"),
    ("650000", "新疆维吾尔自治区", "Xinjiang"),
]

# XPCC (新疆生产建设兵团) has no GB/T 2260 province code. We model it as an explicit extra
# recommender with the pseudo-code 660000, which no GB/T 2260 province uses. It is never derived
# from a credit code: units of the XPCC carry Xinjiang area codes (65xxxx) in their credit codes.
XPCC_CODE = "660000"
XPCC = (XPCC_CODE, "新疆生产建设兵团", "Xinjiang Production and Construction Corps")
XPCC_SERVED_PROVINCES = {"650000", XPCC_CODE}

OFFICE_KEY = "office"
OFFICE_NAME = "社会管理和公共服务标准化联席会议办公室"
OFFICE_NAME_EN = "Joint Office for Social Management and Public Services Standardization"

NINTH_CALL_KEY = "9th-batch"


def _node(
    code: str, name: str, name_en: str, children: list[dict[str, Any]] | None = None, open_ended: bool = False
) -> dict[str, Any]:
    node: dict[str, Any] = {"code": code, "name": name, "name_en": name_en, "children": children or []}
    if open_ended:
        node["open_ended"] = True
    return node


CATALOGUE_9TH = [
    _node(
        "1",
        "行政管理和服务",
        "Administrative management and services",
        [
            _node(
                "1.1",
                "政务服务",
                "Government services",
                [
                    _node("1.1.1", "审批服务", "Approval services"),
                    _node("1.1.2", "服务场所办事服务", "On-site services at service halls"),
                    _node("1.1.3", "网上办事服务", "Online services"),
                    _node("1.1.4", "线上线下融合发展", "Online-offline integration"),
                    _node("1.1.5", "服务评估评价", "Service assessment and evaluation"),
                    _node("1.1.6", "政务热线", "Government service hotline"),
                    _node("1.1.7", "事项集成化办理", "Integrated handling of matters"),
                ],
                open_ended=True,
            ),
            _node("1.2", "政务公开", "Government transparency"),
            _node("1.3", "营商环境建设", "Business environment"),
            _node("1.4", "智慧监管", "Smart regulation"),
            _node("1.5", "公共资源交易", "Public resource trading"),
            _node("1.6", "机关事务管理", "Government offices administration"),
        ],
    ),
    _node(
        "2",
        "社会治理",
        "Social governance",
        [
            _node("2.1", "社会治安防控", "Public security prevention and control"),
            _node("2.2", "矛盾纠纷化解", "Dispute resolution"),
            _node("2.3", "基层社会治理", "Grassroots social governance"),
            _node("2.4", "数字社会", "Digital society"),
        ],
    ),
    _node(
        "3",
        "公共服务",
        "Public services",
        [
            _node("3.1", "医疗卫生服务", "Medical and health services"),
            _node("3.2", "公共教育", "Public education"),
            _node("3.3", "公共文化体育", "Public culture and sports"),
            _node(
                "3.4",
                "社会工作",
                "Social work",
                [
                    _node("3.4.1", "公共机构养老", "Elderly care in public institutions"),
                    _node("3.4.2", "儿童福利", "Child welfare"),
                    _node("3.4.3", "社会救助", "Social assistance"),
                ],
            ),
            _node(
                "3.5",
                "社会保障",
                "Social security",
                [
                    _node("3.5.1", "社会保险", "Social insurance"),
                    _node("3.5.2", "就业创业服务", "Employment and entrepreneurship services"),
                    _node(
                        "3.5.3",
                        "和谐劳动关系基层公共服务",
                        "Grassroots public services for harmonious labour relations",
                    ),
                ],
                open_ended=True,
            ),
            _node("3.6", "医保服务", "Medical insurance services"),
            _node("3.7", "退役军人事务", "Veterans affairs"),
        ],
    ),
    _node(
        "4",
        "应急管理",
        "Emergency management",
        [
            _node("4.1", "防灾减灾", "Disaster prevention and mitigation"),
            _node("4.2", "安全生产", "Work safety"),
            _node("4.3", "消防安全", "Fire safety"),
            _node("4.4", "个体防护装备配备", "Personal protective equipment"),
        ],
    ),
    _node(
        "5",
        "司法服务",
        "Judicial services",
        [
            _node(
                "5.1",
                "司法行政服务",
                "Judicial administration services",
                [
                    _node("5.1.1", "司法鉴定", "Forensic appraisal"),
                    _node("5.1.2", "公证服务", "Notarial services"),
                    _node("5.1.3", "仲裁法律服务", "Arbitration legal services"),
                    _node("5.1.4", "智慧监狱", "Smart prisons"),
                    _node("5.1.5", "智慧戒毒所", "Smart drug rehabilitation centres"),
                    _node("5.1.6", "公共法律服务中心", "Public legal service centres"),
                ],
            ),
            _node("5.2", "检察公共服务", "Procuratorial public services"),
            _node("5.3", "法院公共服务", "Court public services"),
        ],
    ),
    _node(
        "6",
        "城市标准化",
        "Urban standardization",
        [
            _node("6.1", "城市基础设施运营管理", "Urban infrastructure operation and management"),
            _node("6.2", "城市可持续发展", "Urban sustainable development"),
            _node("6.3", "智慧城市运行管理", "Smart city operation and management"),
        ],
    ),
    _node(
        "7",
        "公益科技服务",
        "Public-interest S&T services",
        [
            _node("7.1", "气象服务", "Meteorological services"),
            _node("7.2", "地理信息公共服务", "Public geographic information services"),
            _node("7.3", "科普服务", "Science popularization services"),
        ],
    ),
]

CONDITIONS_9TH = [
    {
        "number": 1,
        "text": "具有明确的社会管理、公共服务职能，能够独立承担法律责任的机构或者组织",
        "text_en": "Has clear social-management or public-service functions and bears legal liability on its own",
    },
    {
        "number": 2,
        "text": "具有一定的标准化工作基础，主要负责人具有较强的标准化意识，设置标准化管理内设机构并配备专兼职标准化人员",
        "text_en": "Has standardization groundwork: a standardization-minded principal leader, an internal standardization unit, and full- or part-time standardization staff",
    },
    {
        "number": 3,
        "text": "当地党委、政府重视标准化工作，能够为试点创建提供政策、资金及其他支持",
        "text_en": "The local Party committee and government back the pilot with policy, funding and other support",
    },
    {
        "number": 4,
        "text": "三年内未发生重大服务质量、安全、环境保护等事故，未受到相关部门的通报、行政处分及被媒体曝光造成严重社会影响，未列入国家企业信用信息公示系统经营异常名录或严重违法失信名单",
        "text_en": "In the last 3 years no major service-quality, safety or environmental accident, no official criticism, administrative sanction or damaging media exposure, and not on the abnormal-operation or serious-dishonesty lists",
    },
]

SECTIONS_9TH = [
    {
        "key": "basic_situation",
        "title": "基本情况",
        "title_en": "Basic situation",
        "required": True,
        "max_length": 5000,
    },
    {
        "key": "groundwork",
        "title": "工作基础",
        "title_en": "Standardization groundwork",
        "required": True,
        "max_length": 5000,
    },
    {"key": "objectives", "title": "试点目标", "title_en": "Objectives", "required": True, "max_length": 3000},
    {
        "key": "main_tasks",
        "title": "主要任务",
        "title_en": "Main tasks (incl. the standard-system framework)",
        "required": True,
        "max_length": 10000,
    },
    {"key": "schedule", "title": "进度安排", "title_en": "Schedule", "required": True, "max_length": 3000},
    {
        "key": "expected_results",
        "title": "预期效果",
        "title_en": "Expected results",
        "required": True,
        "max_length": 3000,
    },
    {
        "key": "safeguards",
        "title": "保障措施",
        "title_en": "Safeguards (organisation, staffing, funding)",
        "required": True,
        "max_length": 3000,
    },
]

# The notice's 四、其他事项: where the list, the papers (纸质材料一份) and the electronic copy go.
CONTACT_9TH = {
    "unit": "市场监管总局标准技术司",
    "persons": ["董艳", "王斌"],
    "phones": ["010-82261022", "010-82260669"],
    "fax": "010-82260667",
    "address": "北京市东城区安定门外大街56号",
    "postcode": "100011",
    "electronic_route": "“市场监管总局工作门户”—“公文交换系统”—“上报公文”—“发送”—“标准技术司”",
}

NINTH_CALL = {
    "key": NINTH_CALL_KEY,
    "name": "第九批社会管理和公共服务综合标准化试点项目征集",
    "name_en": "9th batch of comprehensive standardization pilots for social management and public services",
    "notice_number": "国标委发〔2022〕35号",
    "issue_date": date(2022, 10, 9),
    # "于2022年11月15日前": the end of 2022-11-15, Beijing time.
    "deadline": datetime(2022, 11, 15, 23, 59, 59, tzinfo=BEIJING),
    "contact": CONTACT_9TH,
}
