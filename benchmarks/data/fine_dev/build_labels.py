"""Cut the dev set's texts from the shared data and write labels.jsonl.

The labels are judgements made by reading each text under GUIDELINES.md; they live in
``LABELS`` below, one row per item: ``source#locator | label | note``. This script only cuts
the text each row names, so the file can be rebuilt and checked against its sources.

Locators:
  record N            the text of line N (0-based) of a JSON-lines file   -> document
  row N               the content of data row N (0-based) of a csv        -> document
  main text           the page's main text (mdfs.collect.extract)         -> document
  whole page          the page as plain text (resiliparse, main_content=False), as a WET
                      record gives it                                     -> document
  lines A-B           lines A..B (1-based) of that whole-page text        -> segment
  line A chars X-Y    characters X..Y (0-based, end excluded) of line A   -> segment

    PYTHONPATH=src python benchmarks/data/fine_dev/build_labels.py

The shared data is found as everywhere in MDFS (`mdfs.shared`): $MDFS_SHARED, else ../shared
beside the repository.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path

from resiliparse.extract.html2text import extract_plain_text

from mdfs.collect.extract import extract_main_text
from mdfs.shared import shared_folder

HERE = Path(__file__).resolve().parent
DATA = shared_folder() / "data"

LABELS = """
# ChineseWebText Common Crawl documents: labelled by reading; "dirty"/"clean" is their file
web/ccnet_labelled/clean.jsonl#record 0 | high | encyclopedic history narrative
web/ccnet_labelled/clean.jsonl#record 1 | high | actor biography; a role table at the end is a small part
web/ccnet_labelled/clean.jsonl#record 2 | high | short but complete encyclopedia entry
web/ccnet_labelled/clean.jsonl#record 3 | low | disambiguation list of namesakes, no prose (file says clean)
web/ccnet_labelled/clean.jsonl#record 4 | high | teacher biography, coherent
web/ccnet_labelled/clean.jsonl#record 5 | high | military explainer, coherent
web/ccnet_labelled/clean.jsonl#record 6 | high | management term definition with numbered points
web/ccnet_labelled/clean.jsonl#record 7 | high | encyclopedic product description; promotional tone but no offer or contact
web/ccnet_labelled/clean.jsonl#record 8 | high | short novel synopsis, complete
web/ccnet_labelled/clean.jsonl#record 9 | high | referee biography; match table at the end is about a sixth
web/ccnet_labelled/dirty.jsonl#record 0 | low | headline wall, training-school slogans and clipped notes on a gambling-titled page
web/ccnet_labelled/dirty.jsonl#record 1 | high | real discipline-inspection article, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 2 | high | Linux driver tutorial, starts mid-sentence; title on its spam domain does not match, the text itself is sound (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 3 | high | award announcement of a research project, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 4 | low | blog sidebar: profile, counters, clipped teasers
web/ccnet_labelled/dirty.jsonl#record 5 | high | opinion essay, coherent (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 6 | low | idiom glosses without their headwords, a URL and a chain list
web/ccnet_labelled/dirty.jsonl#record 7 | low | school news with pinyin injected after characters (obfuscated copy on a clinic station-group page)
web/ccnet_labelled/dirty.jsonl#record 8 | high | fluent web-novel excerpt; filler on a software page, but the text itself reads well (file says dirty)
web/ccnet_labelled/dirty.jsonl#record 9 | low | category counts and author-name list
# SMS set: the csv label is a hint only
spam/test.csv#row 24331 | high | complete news flash
spam/test.csv#row 7740 | high | complete news flash
spam/test.csv#row 13683 | high | complete news flash
spam/test.csv#row 33686 | high | complete incident report
spam/test.csv#row 29860 | high | complete news sentence
spam/test.csv#row 36581 | high | complete news sentence
spam/test.csv#row 15041 | high | complete news sentence
spam/test.csv#row 18313 | high | complete news flash
spam/test.csv#row 1686 | high | complete news flash
spam/test.csv#row 437 | low | personal chatter
spam/test.csv#row 1566 | low | personal chatter with emoticons
spam/test.csv#row 1998 | low | personal chatter
spam/test.csv#row 5724 | low | personal chatter
spam/test.csv#row 6724 | low | personal venting
spam/test.csv#row 7374 | low | personal venting
spam/test.csv#row 13083 | low | personal message
spam/test.csv#row 14630 | low | personal chatter
spam/test.csv#row 15832 | low | personal complaint
spam/test.csv#row 17214 | low | personal chatter
spam/test.csv#row 21132 | low | personal message
spam/test.csv#row 27735 | low | personal chatter
spam/test.csv#row 2143 | low | clause fragment, no main verb
spam/test.csv#row 1868 | low | clause fragment
spam/test.csv#row 8851 | low | clause fragment
spam/test.csv#row 7606 | low | address fragment
spam/test.csv#row 37762 | low | garbled token string
spam/test.csv#row 3752 | low | personal bank-card note, no offer (csv says ad)
spam/test.csv#row 23009 | low | propaganda plea, not commercial (csv says ad)
spam/test.csv#row 2401 | low | masked number and a name only (csv says ad)
spam/test.csv#row 241 | ad | loan offer with hotline
spam/test.csv#row 565 | ad | supermarket discount
spam/test.csv#row 3014 | ad | insurance renewal offer
spam/test.csv#row 8633 | ad | property sale offer
spam/test.csv#row 10981 | ad | car service offer with booking line
spam/test.csv#row 23182 | ad | housekeeping service with address and phone
spam/test.csv#row 24963 | ad | floor-heating offer with phone and address
spam/test.csv#row 32860 | ad | door factory, dealers wanted, phone
spam/test.csv#row 34553 | ad | exam-prep school with teacher's phone
spam/test.csv#row 30098 | ad | lottery tip (gambling promotion)
spam/test.csv#row 2038 | ad | loan offer with phone, QQ and WeChat
spam/test.csv#row 2582 | ad | flat for sale, call
spam/test.csv#row 7213 | ad | machinery maker, call the manager
spam/test.csv#row 17838 | ad | wealth-management product, call me
spam/test.csv#row 26617 | ad | recruitment offer with pay
spam/test.csv#row 17609 | ad | sex service with prices (csv says ad)
spam/test.csv#row 23867 | ad | property investment with phone number (csv says not ad)
spam/test.csv#row 28190 | ad | promotion copy listing products on sale (csv says not ad)
# sina/1.html: news article page
web/news_pages/article_pages/sina/1.html#main text | high | news article
web/news_pages/article_pages/sina/1.html#whole page | low | article under navigation, login box, comments and headline lists: most of the text is boilerplate
web/news_pages/article_pages/sina/1.html#lines 67-79 | high | article body
web/news_pages/article_pages/sina/1.html#lines 103-111 | high | article body
web/news_pages/article_pages/sina/1.html#lines 132-158 | low | comment bar
web/news_pages/article_pages/sina/1.html#lines 163-178 | low | recommended-headline wall
web/news_pages/article_pages/sina/1.html#lines 264-274 | low | footer
# sina/2.html: finance news page whose extracted main text is the stock live feed
web/news_pages/article_pages/sina/2.html#main text | low | the extractor picked a stock live feed: names, times, clipped comments and self-promotion
web/news_pages/article_pages/sina/2.html#whole page | low | a short article inside menus, stock tickers, headline lists and a live feed
web/news_pages/article_pages/sina/2.html#lines 70-74 | high | short complete news report
web/news_pages/article_pages/sina/2.html#lines 68-68 | ad | site campaign promotion with a vote call
web/news_pages/article_pages/sina/2.html#lines 151-160 | low | headline wall
web/news_pages/article_pages/sina/2.html#lines 183-194 | low | blogger headline list
web/news_pages/article_pages/sina/2.html#lines 250-254 | high | market commentary; one name-and-time line at its head
web/news_pages/article_pages/sina/2.html#lines 274-278 | ad | stock adviser promoting his live channel
web/news_pages/article_pages/sina/2.html#lines 260-273 | low | one-line stock Q&A with names and times
# sina/3.html: finance Q&A article page
web/news_pages/article_pages/sina/3.html#main text | low | the article (71%) runs into a trailing wall of clipped teasers, template placeholders (@@title@@) and comment-bar lines: mixed, dropped as a whole
web/news_pages/article_pages/sina/3.html#whole page | low | article inside menus, headline lists, tickers and a stock Q&A feed
web/news_pages/article_pages/sina/3.html#lines 83-99 | high | article body (interview answers)
web/news_pages/article_pages/sina/3.html#lines 229-245 | high | article body (interview answers)
web/news_pages/article_pages/sina/3.html#lines 70-73 | ad | share buttons and an app-download call
web/news_pages/article_pages/sina/3.html#lines 383-392 | ad | follow-our-account promotion
web/news_pages/article_pages/sina/3.html#lines 444-453 | low | headline wall
web/news_pages/article_pages/sina/3.html#lines 538-565 | low | stock Q&A with names and times
web/news_pages/article_pages/sina/3.html#lines 486-497 | low | blogger headline list
# sina/4.html: product-launch news page
web/news_pages/article_pages/sina/4.html#main text | ad | launch news whose last third plugs a live stream, a shop (Tmall, instalments, buy-back) and a WeChat account: dropped, promotion dominates the junk (borderline)
web/news_pages/article_pages/sina/4.html#whole page | low | article between comments, a long related-headline wall and login boxes
web/news_pages/article_pages/sina/4.html#lines 22-30 | high | article body
web/news_pages/article_pages/sina/4.html#lines 10-10 | ad | product-testing app promotion
web/news_pages/article_pages/sina/4.html#lines 42-42 | ad | shop promotion paragraph inside the article
web/news_pages/article_pages/sina/4.html#lines 67-80 | low | comment bar
web/news_pages/article_pages/sina/4.html#lines 104-122 | low | related headlines with tag lines
# sina/5.html: news flash page
web/news_pages/article_pages/sina/5.html#main text | high | short but complete news flash
web/news_pages/article_pages/sina/5.html#whole page | low | a short flash inside navigation, comments, rankings and picture-headline lists
web/news_pages/article_pages/sina/5.html#lines 86-89 | ad | follow-our-WeChat promotion block
web/news_pages/article_pages/sina/5.html#lines 97-110 | low | comment bar
web/news_pages/article_pages/sina/5.html#lines 143-152 | low | ranking headline list
web/news_pages/article_pages/sina/5.html#lines 154-165 | low | picture-story titles, each doubled
# sina/sina.html: tech news page
web/news_pages/article_pages/sina/sina.html#main text | high | news feature
web/news_pages/article_pages/sina/sina.html#whole page | low | article inside navigation, comments and several headline lists
web/news_pages/article_pages/sina/sina.html#lines 85-91 | high | article body
web/news_pages/article_pages/sina/sina.html#lines 1-32 | low | site navigation and account menu
web/news_pages/article_pages/sina/sina.html#lines 120-139 | low | comment bar
web/news_pages/article_pages/sina/sina.html#lines 198-211 | low | picture- and video-news titles, doubled
# toutiao/2.html: photo-gallery page
web/news_pages/article_pages/toutiao/2.html#main text | low | one caption of a ten-picture gallery (starts with the counter 1/10): an opening, not a document (borderline)
web/news_pages/article_pages/toutiao/2.html#whole page | low | gallery page: menus, related galleries, comments and a recommendation feed around one caption
web/news_pages/article_pages/toutiao/2.html#lines 26-43 | low | related-gallery title list
web/news_pages/article_pages/toutiao/2.html#lines 53-79 | low | comment bar
web/news_pages/article_pages/toutiao/2.html#lines 88-107 | low | recommendation feed with counters
# toutiao/3.html: long news feature
web/news_pages/article_pages/toutiao/3.html#main text | high | long news feature; tags and a few comments at the end are about a sixth
web/news_pages/article_pages/toutiao/3.html#whole page | low | feature inside menus, comments, a recommendation feed and picture titles (over two fifths junk)
web/news_pages/article_pages/toutiao/3.html#lines 21-27 | high | article body
web/news_pages/article_pages/toutiao/3.html#lines 57-61 | high | article body
web/news_pages/article_pages/toutiao/3.html#lines 128-145 | low | comment bar
web/news_pages/article_pages/toutiao/3.html#lines 160-177 | low | recommendation feed
web/news_pages/article_pages/toutiao/3.html#lines 206-237 | low | picture-title list
# toutiao/4.html: weather news
web/news_pages/article_pages/toutiao/4.html#main text | high | weather news report
web/news_pages/article_pages/toutiao/4.html#whole page | low | report inside menus, tag list, comment and a recommendation feed
web/news_pages/article_pages/toutiao/4.html#lines 33-37 | high | article body
web/news_pages/article_pages/toutiao/4.html#lines 53-69 | low | tag list of place names
web/news_pages/article_pages/toutiao/4.html#lines 93-114 | low | recommendation feed with sources and counters
# toutiao/5.html: human-interest feature
web/news_pages/article_pages/toutiao/5.html#main text | high | feature story; a few comment lines at the end
web/news_pages/article_pages/toutiao/5.html#whole page | low | story inside menus, comments and a long recommendation feed
web/news_pages/article_pages/toutiao/5.html#lines 59-71 | high | story body
web/news_pages/article_pages/toutiao/5.html#lines 380-401 | low | comment bar
web/news_pages/article_pages/toutiao/5.html#lines 411-431 | low | recommendation feed
# toutiao/toutiao.html: game review
web/news_pages/article_pages/toutiao/toutiao.html#main text | high | short game review; the price is information, not an offer
web/news_pages/article_pages/toutiao/toutiao.html#whole page | low | short review inside menus, tags, a feed and picture titles
web/news_pages/article_pages/toutiao/toutiao.html#lines 56-76 | low | recommendation feed
# wechat/1.html: WeChat article
web/news_pages/article_pages/wechat/1.html#main text | high | product-launch news with specifications and prices
web/news_pages/article_pages/wechat/1.html#whole page | high | the article with WeChat interface strings at its edges, about a fifth (borderline)
web/news_pages/article_pages/wechat/1.html#lines 12-14 | high | article body
web/news_pages/article_pages/wechat/1.html#lines 27-66 | low | WeChat interface strings
# wechat/2.html: WeChat programming tutorial
web/news_pages/article_pages/wechat/2.html#main text | low | account blurb, photo caption and the opening of a tutorial with code lines glued together; stops before the point
web/news_pages/article_pages/wechat/2.html#whole page | high | complete tutorial with code; account blurb, tip box and interface strings at the edges, about a fifth (borderline)
web/news_pages/article_pages/wechat/2.html#lines 59-65 | high | tutorial prose
web/news_pages/article_pages/wechat/2.html#lines 8-8 | ad | follow-this-account promotion
web/news_pages/article_pages/wechat/2.html#lines 120-134 | low | tip box and interface notice: a solicitation, but nothing sold
# people/1.html: culture article (page 1 of 4)
web/news_pages/article_pages/people/1.html#main text | high | essay with classical poems and commentary; two recommended-reading teasers at the end, about a fifth (borderline)
web/news_pages/article_pages/people/1.html#whole page | low | article inside menus, recommendation lists, picture and video titles and rankings
web/news_pages/article_pages/people/1.html#lines 31-37 | high | poem commentary
web/news_pages/article_pages/people/1.html#lines 67-71 | high | poem commentary
web/news_pages/article_pages/people/1.html#lines 88-102 | low | related-news and gallery titles
web/news_pages/article_pages/people/1.html#lines 149-161 | low | headline rankings and copyright footer
# hexun/1.html: news-flash page
web/news_pages/article_pages/hexun/1.html#main text | high | short but complete news flash
web/news_pages/article_pages/hexun/1.html#whole page | low | a two-line flash inside long menus, login box, sponsored links and rankings
web/news_pages/article_pages/hexun/1.html#lines 79-101 | ad | sponsored-links block (Taboola)
web/news_pages/article_pages/hexun/1.html#lines 103-111 | low | headline ranking
web/news_pages/article_pages/hexun/1.html#lines 3-34 | low | site navigation
# stcn/1.html: company-announcement flash
web/news_pages/article_pages/stcn/1.html#main text | high | complete news flash: a roundup of company announcements
web/news_pages/article_pages/stcn/1.html#whole page | low | a short flash inside menus, recommendation teasers and rankings
web/news_pages/article_pages/stcn/1.html#lines 5-11 | ad | follow-our-account and download-our-app calls
web/news_pages/article_pages/stcn/1.html#lines 49-62 | low | recommended teasers with dates
web/news_pages/article_pages/stcn/1.html#lines 63-73 | low | opinion headline list
# zyyfy/1.html: hospital website news item (institutional news, not marketing)
web/news_pages/article_pages/zyyfy/1.html#main text | high | hospital party-branch news report; not marketing
web/news_pages/article_pages/zyyfy/1.html#whole page | low | a short report under a long hospital-site menu and a footer
web/news_pages/article_pages/zyyfy/1.html#lines 19-47 | low | hospital-site menu
web/news_pages/article_pages/zyyfy/1.html#lines 81-89 | high | report body
# gzggw/1.html: provincial government statistics item
web/news_pages/article_pages/gzggw/1.html#main text | high | short but complete statistics report
web/news_pages/article_pages/gzggw/1.html#whole page | low | a one-paragraph report inside the site's menu, breadcrumbs and footer (about two thirds junk)
web/news_pages/article_pages/gzggw/1.html#lines 1-30 | low | site menu and breadcrumbs
# cjn/1.html: city news portal
web/news_pages/article_pages/cjn/1.html#main text | high | news roundup of foreign press reports
web/news_pages/article_pages/cjn/1.html#whole page | low | article inside menus, headline walls, forum and video lists and footer
web/news_pages/article_pages/cjn/1.html#lines 48-54 | high | article body
web/news_pages/article_pages/cjn/1.html#lines 103-109 | low | related headlines with dates
web/news_pages/article_pages/cjn/1.html#lines 172-181 | low | hot-news ranking
web/news_pages/article_pages/cjn/1.html#lines 227-237 | low | footer: licences and report lines
# sxmu/1.html: university discipline office page carrying a national law
web/news_pages/article_pages/sxmu/1.html#main text | high | full text of a law with its introduction
web/news_pages/article_pages/sxmu/1.html#whole page | high | the law with a short menu and footer (under a tenth): kept whole
web/news_pages/article_pages/sxmu/1.html#lines 32-38 | high | law articles
web/news_pages/article_pages/sxmu/1.html#lines 1-17 | low | site menu and links
# njxfhn/1.html: station-group copy of a real news report, with gambling anchors and keyword stuffing
web/news_pages/article_pages/njxfhn/1.html#main text | high | the copied news report itself is intact and coherent; the spam sits outside it
web/news_pages/article_pages/njxfhn/1.html#lines 9-13 | ad | news title with a cosmetics brand injected in brackets
web/news_pages/article_pages/njxfhn/1.html#lines 79-98 | low | related-article teasers with dates
web/news_pages/article_pages/njxfhn/1.html#lines 108-118 | ad | sports headlines with gambling-site names injected (十博体育投注官网)
web/news_pages/article_pages/njxfhn/1.html#lines 119-144 | low | tag list with zero counts
web/news_pages/article_pages/njxfhn/1.html#lines 145-150 | ad | friend links to gambling sites (十博体育, 必威体育)
web/news_pages/article_pages/njxfhn/1.html#line 151 chars 0-480 | low | keyword stuffing: unrelated search phrases, some porn terms (the head of a 170,000-character line)
web/news_pages/article_pages/njxfhn/1.html#lines 17-19 | high | article body
# tieba/1.html: forum thread list
web/news_pages/list_pages/tieba/1.html#main text | ad | two news snippets glued to reply counts and user names, then a school's admission advertisement (a third): promotion dominates the junk (borderline)
web/news_pages/list_pages/tieba/1.html#whole page | low | thread list: titles, counters, user names, sign-in calendar, sidebar and a few ads
web/news_pages/list_pages/tieba/1.html#lines 70-72 | ad | game advertisement in the thread list
web/news_pages/list_pages/tieba/1.html#lines 96-103 | ad | WeChat-marketing offer and a game ad
web/news_pages/list_pages/tieba/1.html#lines 130-138 | ad | certificate course with a WeChat contact, and a game ad
web/news_pages/list_pages/tieba/1.html#lines 209-214 | ad | vocational school admission advertisement
web/news_pages/list_pages/tieba/1.html#lines 233-237 | ad | mobile-game rebate accounts with WeChat and QQ contacts
web/news_pages/list_pages/tieba/1.html#lines 252-257 | ad | adult-education enrolment advertisement
web/news_pages/list_pages/tieba/1.html#lines 60-69 | low | thread-list entries: titles, counters, names, a pasted news excerpt
web/news_pages/list_pages/tieba/1.html#lines 140-150 | low | thread-list entries with counters and names
web/news_pages/list_pages/tieba/1.html#lines 312-347 | low | forum sidebar: membership perks, app download, moderator list
web/news_pages/list_pages/tieba/1.html#lines 27-47 | low | sign-in calendar widget
# more article-body segments, including news pasted into a forum thread list
web/news_pages/article_pages/sina/5.html#lines 67-75 | high | news flash body
web/news_pages/article_pages/toutiao/3.html#lines 37-41 | high | article body
web/news_pages/article_pages/toutiao/3.html#lines 97-103 | high | article body
web/news_pages/article_pages/cjn/1.html#lines 62-68 | high | article body with a picture caption
web/news_pages/article_pages/cjn/1.html#lines 76-82 | high | article body
web/news_pages/article_pages/cjn/1.html#lines 92-94 | high | article body
web/news_pages/article_pages/sxmu/1.html#lines 50-58 | high | law articles
web/news_pages/article_pages/sxmu/1.html#lines 342-350 | high | law articles
web/news_pages/article_pages/people/1.html#lines 19-21 | high | essay opening
web/news_pages/article_pages/zyyfy/1.html#lines 89-93 | high | report body
web/news_pages/article_pages/wechat/2.html#lines 15-21 | high | tutorial prose
web/news_pages/article_pages/wechat/1.html#lines 18-19 | high | product news: memory, storage and prices
web/news_pages/article_pages/njxfhn/1.html#lines 25-31 | high | article body (station-group copy)
web/news_pages/article_pages/njxfhn/1.html#lines 43-49 | high | article body (station-group copy)
web/news_pages/list_pages/tieba/1.html#lines 68-68 | high | complete news paragraph pasted into a forum thread list
web/news_pages/list_pages/tieba/1.html#lines 202-202 | high | complete news paragraph pasted into a forum thread list
web/news_pages/article_pages/sina/3.html#lines 143-151 | high | interview answers
web/news_pages/article_pages/sina/4.html#lines 32-38 | high | product news body
web/news_pages/article_pages/toutiao/5.html#lines 186-198 | high | story body, short paragraphs
web/news_pages/article_pages/toutiao/4.html#lines 21-25 | high | weather report with a picture caption
web/news_pages/article_pages/sina/sina.html#lines 75-79 | high | article body
web/news_pages/article_pages/sina/1.html#lines 115-119 | high | article body
# more SMS
spam/test.csv#row 6174 | high | complete news sentence
spam/test.csv#row 9797 | high | complete weather warning
spam/test.csv#row 12919 | high | complete news sentence
spam/test.csv#row 14302 | high | complete news sentence
spam/test.csv#row 14429 | high | complete news sentence
spam/test.csv#row 14477 | high | complete news sentence
spam/test.csv#row 18541 | high | complete news sentence
spam/test.csv#row 21299 | high | complete news sentence
spam/test.csv#row 29961 | high | complete news sentence
spam/test.csv#row 30240 | high | complete news sentence
spam/test.csv#row 15569 | high | complete news sentence
spam/test.csv#row 8565 | ad | stock-tip group invitation (csv says not ad)
spam/test.csv#row 10211 | ad | clothing sale with free shipping (csv says not ad)
spam/test.csv#row 27258 | ad | sunscreen sale, add me (csv says not ad)
spam/test.csv#row 29181 | ad | watch-shop referral, contact me (csv says not ad)
spam/test.csv#row 28823 | ad | cosmetic-surgery pitch written as advice (csv says not ad)
spam/test.csv#row 37070 | ad | health-product marketing dressed as popular science (csv says not ad)
spam/test.csv#row 7825 | ad | recruitment notice (csv says not ad)
spam/test.csv#row 5951 | low | abusive personal chatter
spam/test.csv#row 10806 | low | symbols and stock names, no sentence
spam/test.csv#row 33778 | low | bus-route fragment
# SMS: more news flashes and marketing written as advice
spam/test.csv#row 41 | high | complete news sentence
spam/test.csv#row 1028 | high | complete news sentence
spam/test.csv#row 4386 | high | complete news sentence
spam/test.csv#row 1523 | high | complete news sentence
spam/test.csv#row 6243 | high | complete news sentence
spam/test.csv#row 7315 | high | complete news sentence
spam/test.csv#row 9122 | high | complete news sentence
spam/test.csv#row 9161 | high | complete news sentence
spam/test.csv#row 13374 | high | complete news sentence
spam/test.csv#row 23560 | high | complete news sentence
spam/test.csv#row 24617 | high | complete news sentence
spam/test.csv#row 25091 | high | complete news sentence
spam/test.csv#row 37739 | high | complete news sentence
spam/test.csv#row 116 | ad | hospital marketing written as expert advice (csv says not ad)
spam/test.csv#row 3407 | ad | acupuncture slimming clinic offer with phone
spam/test.csv#row 3351 | ad | rigged mahjong-table controller for sale (gambling cheat device)
spam/test.csv#row 3063 | ad | clipped enrolment hotline: only the call to contact is left (csv says not ad)
"""


@cache
def _jsonl(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@cache
def _csv(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as rows:
        return [row["content"] for row in csv.DictReader(rows)]


@cache
def _html(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@cache
def whole_page(path: Path) -> str:
    return extract_plain_text(_html(path), main_content=False)


def _lines(text: str, first: int, last: int) -> str:
    return "\n".join(text.split("\n")[first - 1 : last])


def cut(source: str, locator: str) -> tuple[str, str]:
    """The (kind, text) a row names."""
    path = DATA / source
    if m := re.fullmatch(r"record (\d+)", locator):
        return "document", _jsonl(path)[int(m[1])].strip()
    if m := re.fullmatch(r"row (\d+)", locator):
        return "document", _csv(path)[int(m[1])].strip()
    if locator == "main text":
        return "document", extract_main_text(_html(path)).strip()
    if locator == "whole page":
        return "document", whole_page(path).strip()
    if m := re.fullmatch(r"lines (\d+)-(\d+)", locator):
        return "segment", _lines(whole_page(path), int(m[1]), int(m[2])).strip()
    if m := re.fullmatch(r"line (\d+) chars (\d+)-(\d+)", locator):
        line = whole_page(path).split("\n")[int(m[1]) - 1]
        return "segment", line[int(m[2]) : int(m[3])].strip()
    raise ValueError(f"unknown locator {locator!r}")


# Short names for the sources in item ids: "sina-1-main", "ccnet-dirty-record-3", "sms-row-241"
_SHORT = (
    ("web/news_pages/article_pages/", ""),
    ("web/news_pages/list_pages/", ""),
    ("web/ccnet_labelled/", "ccnet-"),
    ("spam/test", "sms"),
)


def item_id(source: str, locator: str) -> str:
    stem = Path(source).with_suffix("").as_posix()
    for long, short in _SHORT:
        stem = stem.replace(long, short)
    locator = locator.replace("main text", "main").replace("whole page", "page")
    return re.sub(r"[^0-9a-z]+", "-", f"{stem}-{locator}".lower()).strip("-")


def main() -> None:
    items = []
    for row in map(str.strip, LABELS.splitlines()):
        if not row or row.startswith("# "):
            continue
        where, label, note = (part.strip() for part in (row + " |").split("|")[:3])
        source, locator = where.split("#")
        kind, text = cut(source, locator)
        if not text:
            raise ValueError(f"{where}: empty text")
        if kind == "segment" and not 40 <= len(text) <= 500:
            print(f"note: {where} is {len(text)} characters", file=sys.stderr)
        items.append(
            {"id": item_id(source, locator), "kind": kind, "source": where, "label": label,
             "text": text, "note": note}
        )  # fmt: skip
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    with (HERE / "labels.jsonl").open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    counts = Counter((item["kind"], item["label"]) for item in items)
    print(len(items), "items", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
