"""Line-level boilerplate removal: what surrounds an article on a Chinese web page."""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import Field

from mdfs.coarse.text_stats import CJK_CHAR, DIGIT, SENTENCE_END, visible_length
from mdfs.document import Document
from mdfs.pipeline import Mapper, register

# Lines that start with these introduce site furniture, whatever follows (link lists, notices).
DEFAULT_MARKERS = [
    "友情链接", "友链", "相关链接", "合作伙伴", "合作媒体", "热门推荐", "热门标签", "热门搜索",
    "相关阅读", "相关文章", "推荐阅读", "延伸阅读", "猜你喜欢", "大家都在看", "版权所有",
    "版权声明", "copyright", "©", "icp备", "icp证", "公网安备", "京公网", "网站地图",
    "联系我们", "关于我们", "免责声明", "分享到", "扫一扫", "扫描二维码", "关注我们", "责任编辑",
    "上一篇", "下一篇", "返回顶部", "返回首页", "当前位置", "您的位置", "你的位置", "本站声明",
    "违法和不良信息举报", "举报电话", "投稿邮箱", "标签：", "tags:",
]  # fmt: skip
# Words of share/comment/report bars and menus; a line made only of these is a bar.
DEFAULT_UI_WORDS = [
    "投诉", "评论", "转载", "分享", "收藏", "点赞", "举报", "打印", "关闭", "回复", "登录",
    "注册", "首页", "更多", "纠错", "字号", "大", "中", "小", "微信", "微博", "qq空间", "复制链接",
    "投稿", "订阅", "客户端", "下载", "app", "返回", "顶部", "搜索", "导航", "菜单", "设为首页",
    "加入收藏", "手机版", "电脑版", "登录注册", "我要投稿", "我要评论", "赞", "踩", "阅读",
    "阅读全文", "展开全文", "查看更多", "加载更多", "点击加载更多", "上一页", "下一页", "尾页",
]  # fmt: skip
_PUNCTUATION = re.compile(r"[^\w\s]")
_SEPARATORS = re.compile(r"[\s|｜丨·•/>»›、,，]+")


@register
class Boilerplate(Mapper):
    """Remove navigation, link farms, copyright and share bars, and runs of tag-like lines.

    Rules in the spirit of C4/Gopher line filters and ChineseWebText, tuned for Chinese
    pages: a line goes if it begins with a furniture marker (友情链接…), consists only of
    UI words (投诉 评论 转载), is a menu (many very short items, no sentence), or belongs to
    a run of `min_run`+ short fragments without any punctuation or digit (city lists, tags).
    """

    name = "boilerplate"
    markers: list[str] = Field(default_factory=lambda: list(DEFAULT_MARKERS))
    ui_words: list[str] = Field(default_factory=lambda: list(DEFAULT_UI_WORDS))
    marker_max_chars: int = Field(200, gt=0, description="longer lines keep a marker word")
    menu_min_items: int = Field(4, gt=1)
    menu_max_item_chars: float = Field(5.0, gt=0)
    fragment_max_chars: int = Field(12, gt=0)
    min_run: int = Field(3, gt=1)

    # Looked up for every line of every page: a set, and a tuple that startswith() tries all
    # at once (the generator below then runs only on the few lines that have one). Cached
    # properties, not private attributes: those cost a pydantic __getattr__ call a lookup.
    @cached_property
    def _ui_words(self) -> frozenset[str]:
        return frozenset(self.ui_words)

    @cached_property
    def _markers(self) -> tuple[str, ...]:
        return tuple(self.markers)

    def is_furniture(self, line: str) -> bool:
        lowered = line.lower().lstrip("【[（(「『 ")
        marker = None
        if lowered.startswith(self._markers):
            marker = next(m for m in self.markers if lowered.startswith(m))
        if marker is not None:
            # a marker opening a link list is furniture however long
            if marker in ("友情链接", "友链", "相关链接"):
                return True
            # "相关阅读材料显示，…。" is a sentence that happens to start like a marker
            follower = lowered[len(marker) : len(marker) + 1]
            sentence = bool(CJK_CHAR.match(follower)) and bool(SENTENCE_END.search(line))
            return len(line) <= self.marker_max_chars and not sentence
        items = [item for item in _SEPARATORS.split(lowered) if item]
        if not items:
            return False
        ui_words = self._ui_words
        if all(item in ui_words for item in items):
            return True
        if len(items) >= self.menu_min_items and not SENTENCE_END.search(line):
            mean = sum(len(item) for item in items) / len(items)
            if mean <= self.menu_max_item_chars:
                return True
        return False

    def is_fragment(self, line: str) -> bool:
        return (
            0 < visible_length(line) <= self.fragment_max_chars
            and not _PUNCTUATION.search(line)
            and not DIGIT.search(line)
        )

    def clean(self, text: str) -> tuple[str, int]:
        lines = text.split("\n")
        drop = [self.is_furniture(line) for line in lines]
        # runs of fragment lines; blank lines and furniture inside a run do not break it
        run: list[int] = []
        for index, line in enumerate([*lines, "a sentence that ends the last run."]):
            if not line.strip() or (index < len(lines) and drop[index]):
                continue
            if index < len(lines) and self.is_fragment(line):
                run.append(index)
                continue
            if len(run) >= self.min_run:
                for member in run:
                    drop[member] = True
            run = []
        kept = [line for line, dropped in zip(lines, drop, strict=True) if not dropped]
        return "\n".join(kept).strip(), sum(drop)

    def apply(self, document: Document) -> Document:
        document.text, removed = self.clean(document.text)
        if removed:
            document.meta["boilerplate_lines_removed"] = removed
        return document
