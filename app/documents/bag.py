"""The text files of the electronic copy's BagIt bag (RFC 8493): bagit.txt, bag-info.txt, manifests, README."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.clock import BEIJING
from app.documents.zipstream import Digests

if TYPE_CHECKING:
    from app.documents.package import PackageFacts

ALGORITHMS = ("sha256", "sm3")


@dataclass(frozen=True, slots=True)
class Payload:
    path: str  # relative to the bag's folder: data/…, or a tag file's name
    size: int
    digests: Digests


def bagit_txt() -> bytes:
    return b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def encode_path(path: str) -> str:
    """A path as a manifest writes it (RFC 8493 §2.1.3: CR, LF and % percent-encoded)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(path: str) -> str:
    return path.replace("%0D", "\r").replace("%0d", "\r").replace("%0A", "\n").replace("%0a", "\n").replace("%25", "%")


def manifest(files: list[Payload], alg: str) -> bytes:
    lines = [f"{getattr(f.digests, alg)}  {encode_path(f.path)}\n" for f in files]
    return "".join(lines).encode()


def bagging_date(facts: "PackageFacts") -> str:
    """The submission's day (Beijing time), so the same list gives the same bag on every download."""
    return facts.submitted_at.astimezone(BEIJING).date().isoformat()


def bag_info(facts: "PackageFacts", payload: list[Payload]) -> bytes:
    fields = [
        ("Source-Organization", facts.recommender),
        ("External-Identifier", str(facts.receipt["tracking_number"])),
        ("External-Description", f"{facts.call_name}（{facts.notice_number}）推荐项目清单及申报材料电子版"),
        ("Bagging-Date", bagging_date(facts)),
        ("Payload-Oxum", f"{sum(p.size for p in payload)}.{len(payload)}"),
        ("Internal-Sender-Identifier", str(facts.receipt["batch_id"])),
        ("Receipt-SHA256", facts.receipt_digest),
        ("Bag-Software-Agent", "smps package.zip"),
    ]
    return "".join(f"{label}: {' '.join(str(value).split())}\n" for label, value in fields).encode()


def contact_lines(contact: dict[str, Any]) -> list[str]:
    lines = []
    if contact.get("unit") or contact.get("persons"):
        lines.append("联系人：" + " ".join([contact.get("unit") or "", *contact.get("persons", [])]).strip())
    if contact.get("phones") or contact.get("fax"):
        fax = [f"{contact['fax']}（传真）"] if contact.get("fax") else []
        lines.append("电　话：" + "，".join([*contact.get("phones", []), *fax]))
    if contact.get("address"):
        lines.append("邮寄地址：" + contact["address"])
    if contact.get("postcode"):
        lines.append("邮政编码：" + contact["postcode"])
    if contact.get("electronic_route"):
        lines.append("电子版报送路径：" + contact["electronic_route"])
    return lines


def readme(facts: "PackageFacts") -> bytes:
    tracking = facts.receipt["tracking_number"]
    contact = contact_lines(facts.contact) or ["（本征集批次未登记联系人）"]
    text = (
        f"""推荐项目清单及申报材料电子版
================================

征集批次：{facts.call_name}（{facts.notice_number}）
推荐单位：{facts.recommender}
报送回执编号：{tracking}
报送时间（北京时间）：{facts.submitted_at.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M:%S")}
回执摘要（SHA-256）：{facts.receipt_digest}

一、内容
本文件夹是一个 BagIt 包（RFC 8493）。data/ 下为报送内容：
  receipt.json            已签名的电子报送回执
  推荐清单.pdf / .xlsx     推荐项目清单（按推荐排序）
  <序号>-<项目名称>/       每个项目一个文件夹：申请书.pdf、application.json（提交时的申报内容）
                          及各类附件（<附件类别>/<文件名>）
包根目录下：bag-info.txt（推荐单位、回执编号、打包日期等）、manifest-sha256.txt 与
manifest-sm3.txt（每个文件的 SHA-256 与 SM3（GB/T 32905）摘要）、tagmanifest-*.txt（上述文件的摘要）。

二、离线核验
1. 核验文件完整（BagIt）：
     pip install bagit
     bagit.py --validate {facts.root}
   或用本系统的命令（同时核验 SHA-256 与 SM3 两份清单及回执签名）：
     smps package verify {facts.root}.zip --keys keys.json
2. 核验回执签名（公开密钥取自 GET /api/v1/receipt-keys，保存为 keys.json）：
     smps receipt verify data/receipt.json --keys keys.json
   亦可只用 openssl（3.0 及以上）核验，步骤见系统文档 docs/receipts.md：
     openssl pkeyutl -verify -pubin -inkey ed25519.pub.pem -rawin -in payload.json -sigfile ed25519.sig
     openssl pkeyutl -verify -pubin -inkey sm2.pub.pem -rawin -in payload.json -sigfile sm2.sig \\
       -digest sm3 -pkeyopt distid:1234567812345678
3. 单个文件的摘要可与 manifest 对照：
     openssl dgst -sha256 data/推荐清单.pdf
     openssl dgst -sm3 data/推荐清单.pdf

三、报送与联系
纸质材料一份寄送联席办公室，电子版通过市场监管总局公文交换系统报送。
"""
        + "\n".join(contact)
        + "\n"
    )
    return text.encode()
