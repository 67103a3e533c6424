"""Chinese labels of the coded values users meet (标准级别, 标准状态, 单位性质, roles, attachment kinds).

Messages in Chinese name a value by its label with the code beside it (``现行（existing）``); English
messages keep the code. The lists are registered with ``app.core.i18n`` so a "must be one of" message
finds the labels of its choices.
"""

from app.auth.caller import ROLES as ROLES  # the roles are the callers' (app.auth), labelled here with the rest
from app.core.i18n import Text, register_choices

STANDARD_LEVELS = {
    "national": "国家标准",
    "sector": "行业标准",
    "local": "地方标准",
    "group": "团体标准",
    "enterprise": "企业标准",
}
STANDARD_STATUSES = {"existing": "现行", "to_be_drafted": "待制定"}
ORGANIZATION_KINDS = {
    "government_agency": "机关",
    "public_institution": "事业单位",
    "social_organization": "社会组织",
    "enterprise": "企业",
    "market_supervision_bureau": "市场监管部门",
    "joint_office": "联席会议办公室",
    "other": "其他",
}
ATTACHMENT_KINDS = {
    "application_form_scan": "申请书盖章扫描件",
    "paper_endorsement": "纸质会签盖章页",
    "implementation_plan": "实施方案",
    "standards_table": "标准明细表",
    "evidence": "证明材料",
    "other": "其他材料",
}

for _labels in (STANDARD_LEVELS, STANDARD_STATUSES, ORGANIZATION_KINDS, ROLES):
    register_choices(_labels)


def labelled(labels: dict[str, str], code: str) -> Text:
    """A code as a message parameter: its Chinese label in zh (the code itself when it has none), the code in en."""
    return Text(labels.get(code, code), code)
