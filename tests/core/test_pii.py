"""PII masking, output exact: each kind's placeholder in place, counts per occurrence, the
switches, and what the step leaves in a document's meta."""

from __future__ import annotations

from mdfs.coarse.pii import PII, valid_resident_id
from mdfs.document import Document

TEXT = (
    "联系张三：13812345678，或+86 139-8765-4321；身份证11010519491231002X；"
    "邮箱zhang.san@example.com；QQ：123456789；服务器192.168.1.1。"
)


def test_every_kind_masked_in_place() -> None:
    masked, counts = PII().mask(TEXT)
    assert masked == (
        "联系张三：<PHONE>，或<PHONE>；身份证<ID>；邮箱<EMAIL>；QQ：<QQ>；服务器<IP>。"
    )
    assert counts == {"mobile": 2, "resident_id": 1, "email": 1, "qq": 1, "ip": 1}


def test_qq_keeps_its_cue_word_and_what_follows() -> None:
    assert PII().mask("扣扣号 987654321 找我") == ("扣扣号 <QQ> 找我", {"qq": 1})
    assert PII().mask("群里QQ:12345或企鹅号67890") == ("群里QQ:<QQ>或企鹅号<QQ>", {"qq": 2})


def test_switches_and_placeholders() -> None:
    off = PII(
        mask_email=False, mask_mobile=False, mask_resident_id=False, mask_qq=False, mask_ip=False
    )
    assert off.mask(TEXT) == (TEXT, {})
    only_ip = PII(mask_email=False, mask_mobile=False, mask_resident_id=False, mask_qq=False)
    assert only_ip.mask(TEXT)[1] == {"ip": 1}
    custom = PII(
        placeholders={
            "email": "[e]",
            "mobile": "[m]",
            "resident_id": "[i]",
            "qq": "[q]",
            "ip": "[p]",
        }
    )
    assert custom.mask(TEXT)[0] == "联系张三：[m]，或[m]；身份证[i]；邮箱[e]；QQ：[q]；服务器[p]。"


def test_apply_counts_in_meta_only_when_something_was_masked() -> None:
    document = PII().apply(Document("1", "电话13812345678，13912345678", "s"))
    assert document.text == "电话<PHONE>，<PHONE>"
    assert document.meta == {"pii": {"mobile": 2}}
    clean = PII().apply(Document("2", "没有个人信息", "s"))
    assert clean.meta == {}


def test_resident_id_check_digit_x_either_case() -> None:
    assert valid_resident_id("11010519491231002x")
    assert PII().mask("11010519491231002x")[1] == {"resident_id": 1}


def test_mobile_prefixes_and_ip_octets_at_their_edges() -> None:
    """Mainland mobiles start 13-19 (199 is China Telecom's); 12x is no mobile. An IPv4
    octet goes to 255: 256 is no address."""
    assert PII().mask("电话19912345678") == ("电话<PHONE>", {"mobile": 1})
    assert PII().mask("电话13012345678")[1] == {"mobile": 1}
    assert PII().mask("编号12012345678")[1] == {}
    assert PII().mask("主机 255.255.255.0 在线")[1] == {"ip": 1}
    assert PII().mask("版本 256.1.1.1 发布")[1] == {}
    assert PII().mask("版本 1.1.1.256 发布")[1] == {}
