"""Generate the binary files of the sample corpus (samples/corpus/) from the text below.

Writes travel_expense_manual.docx (python-docx), privacy_plan_summary.pdf (reportlab with the
NanumGothic TTF embedded as a subset), civil_complaint_manual.hwpx (OWPML zip package as
Hancom Office writes it) and legacy_parking_notice_cp949.txt (CP949-encoded text). The
outputs are committed; run this only to change them:

    apt-get install -y fonts-nanum          # for the PDF only
    .venv/bin/python samples/make_samples.py

The agencies (누리행정청, 한빛데이터원) and every fact in these documents are fictional.
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

CORPUS = Path(__file__).resolve().parent / "corpus"
FIXED_TIME = (2024, 1, 2, 9, 0, 0)
FONT_DIR = Path("/usr/share/fonts/truetype/nanum")

# --- 국내 출장 여비 정산 매뉴얼 (.docx) ------------------------------------------------------

TRAVEL_TITLE = "국내 출장 여비 정산 매뉴얼"
# (kind, text): kind is "h1"/"h2" for headings, "p" for a paragraph, "li" for a numbered step,
# "table" for the rate table below.
TRAVEL: list[tuple[str, str]] = [
    (
        "p",
        "이 매뉴얼은 누리행정청 공무원이 국내 출장을 다녀온 뒤 여비를 청구하고 정산하는 방법을 "
        "설명한다. 여비 지급 기준은 「누리행정청 여비 지급 규정」(2024. 1. 1. 시행)을 따른다.",
    ),
    ("h1", "1. 출장 신청"),
    (
        "p",
        "출장을 가려는 사람은 출장 전날까지 행정업무시스템(누리온)의 「출장 신청」 메뉴에서 출장지, "
        "기간, 목적, 교통수단을 입력하고 부서장의 결재를 받는다. 결재를 받지 않은 출장에는 여비를 "
        "지급하지 않는다.",
    ),
    ("h1", "2. 여비 지급 기준"),
    ("h2", "2.1 일비·식비·숙박비"),
    (
        "p",
        "일비와 식비는 출장 일수에 따라 정액으로 지급하고, 숙박비는 지역별 상한액 안에서 실제 "
        "지출한 금액을 지급한다. 지급 기준은 다음 표와 같다.",
    ),
    ("table", ""),
    ("p", "공용차량을 이용하거나 출장지에서 식사를 제공받은 경우 일비 또는 식비의 2분의 1을 감액한다."),
    ("h2", "2.2 교통비"),
    (
        "p",
        "철도는 일반실, 고속버스는 우등 요금을 기준으로 실비를 지급한다. 자가용 승용차를 이용한 "
        "경우 연료비는 (출장 거리 × 유가) ÷ 연비로 계산하며, 통행료와 주차료는 영수증이 있는 "
        "경우에만 지급한다.",
    ),
    ("h1", "3. 정산 절차"),
    ("li", "출장을 마친 날부터 5근무일 이내에 누리온 「여비 정산」 메뉴에서 정산을 신청한다."),
    ("li", "숙박비·교통비 영수증(카드 매출전표 포함)을 스캔하여 첨부한다."),
    ("li", "부서 서무담당자가 증빙을 확인한 뒤 재무담당관실로 넘긴다."),
    ("li", "재무담당관실은 정산 신청을 받은 날부터 7근무일 이내에 출장자 급여 계좌로 여비를 지급한다."),
    ("h2", "3.1 기한을 넘긴 정산"),
    (
        "p",
        "정산 기한을 넘긴 경우 부서장의 사유서를 첨부하여야 하며, 출장을 마친 날부터 30일이 지나면 "
        "여비를 청구할 수 없다.",
    ),
    ("h1", "4. 유의 사항"),
    (
        "p",
        "친지 집 등에서 숙박하여 숙박비를 지출하지 않은 경우 1박당 20,000원을 지급한다. 같은 "
        "출장에 대하여 다른 기관으로부터 여비를 받은 경우에는 그 금액을 빼고 지급한다. 허위로 여비를 "
        "청구한 사람은 받은 금액의 2배를 환수하고 징계를 요구한다.",
    ),
    ("h1", "5. 문의"),
    ("p", "여비 지급 기준: 재무담당관실 경리담당(내선 2150) / 누리온 오류: 정보화담당관실(내선 2400)"),
]
TRAVEL_TABLE = [
    ("구분", "지급 기준", "비고"),
    ("일비", "1일 25,000원", "공용차량 이용 시 2분의 1 감액"),
    ("식비", "1일 25,000원", "식사 제공 시 2분의 1 감액"),
    ("숙박비(서울특별시)", "1박 상한 100,000원", "실비 지급, 영수증 필수"),
    ("숙박비(광역시)", "1박 상한 80,000원", "실비 지급, 영수증 필수"),
    ("숙박비(그 밖의 지역)", "1박 상한 70,000원", "실비 지급, 영수증 필수"),
]

# --- 개인정보 보호 내부관리계획 요약 (.pdf, one list per page) -----------------------------

PRIVACY_TITLE = "개인정보 보호 내부관리계획 요약"
PRIVACY_PAGES: list[list[tuple[str, str]]] = [
    [
        ("title", PRIVACY_TITLE),
        ("p", "누리행정청(2024년도) · 내부용"),
        ("h", "1. 개인정보 보호책임자"),
        (
            "p",
            "누리행정청의 개인정보 보호책임자는 기획조정관으로 한다. 보호책임자는 내부관리계획의 "
            "수립·시행, 개인정보 처리 실태 점검, 개인정보 유출 사고 대응을 총괄한다. 실무는 "
            "정보보안담당관실 개인정보보호팀(내선 2485)이 맡는다.",
        ),
        ("h", "2. 개인정보취급자 지정과 교육"),
        (
            "p",
            "부서장은 개인정보를 처리하는 직원을 개인정보취급자로 지정하고 명단을 매년 1월 31일까지 "
            "개인정보보호팀에 제출한다.",
        ),
        (
            "p",
            "개인정보취급자는 연 1회 이상, 4시간 이상의 개인정보 보호 교육을 이수하여야 한다. 신규 "
            "취급자는 지정된 날부터 1개월 안에 기본 교육을 받는다.",
        ),
    ],
    [
        ("h", "3. 접근권한 관리"),
        (
            "p",
            "개인정보처리시스템의 접근권한은 업무 수행에 필요한 최소한의 범위로 차등 부여한다. "
            "권한은 부서장의 승인을 받아 정보화담당관실이 부여한다.",
        ),
        (
            "p",
            "전보·퇴직 등으로 인사이동이 발생하면 지체 없이, 늦어도 인사발령일 다음 날까지 접근권한을 "
            "변경하거나 말소한다. 권한 부여·변경·말소 기록은 최소 3년간 보관한다.",
        ),
        (
            "p",
            "비밀번호는 9자리 이상 영문·숫자·특수문자를 조합하여 만들고 90일마다 변경한다. 비밀번호를 "
            "5회 연속 틀리면 계정을 잠근다.",
        ),
        ("h", "4. 접속기록 보관 및 점검"),
        (
            "p",
            "개인정보취급자의 접속기록은 1년 이상 보관한다. 다만 5만 명 이상의 정보주체에 관한 "
            "개인정보나 고유식별정보를 처리하는 시스템은 2년 이상 보관한다.",
        ),
        (
            "p",
            "개인정보보호팀은 접속기록을 월 1회 이상 점검하고, 대량 다운로드 등 비정상 행위가 발견되면 "
            "해당 부서장에게 즉시 소명을 요구한다.",
        ),
    ],
    [
        ("h", "5. 개인정보 파기"),
        (
            "p",
            "보유기간이 지나거나 처리 목적을 달성한 개인정보는 그날부터 5일 이내에 파기한다. 부서별 "
            "파기 대상 점검은 매년 6월과 12월 두 차례 실시한다.",
        ),
        (
            "p",
            "전자파일은 복구할 수 없도록 영구 삭제 프로그램으로 지우고, 종이 문서는 분쇄하거나 소각한다. "
            "파기 결과는 「개인정보 파기 관리대장」에 기록하고 보호책임자의 확인을 받는다.",
        ),
        ("h", "6. 유출 사고 대응"),
        (
            "p",
            "개인정보 유출을 알게 된 직원은 즉시 개인정보보호팀에 신고한다. 1천 명 이상의 정보주체에 "
            "관한 개인정보가 유출된 경우 유출을 알게 된 때부터 72시간 이내에 정보주체에게 통지하고 "
            "개인정보보호위원회에 신고한다.",
        ),
    ],
]

# --- 민원 응대 매뉴얼 (.hwpx) ------------------------------------------------------------------

COMPLAINT_TITLE = "민원 응대 매뉴얼"
# kind: "h1"/"h2" outline headings, "p" body, "table" the deadline table, "p+fn" body with a footnote.
COMPLAINT: list[tuple[str, str]] = [
    ("title", COMPLAINT_TITLE),
    (
        "p",
        "누리행정청 민원 담당 공무원이 전화·방문·온라인 민원을 친절하고 일관되게 처리하도록 "
        "응대 요령과 처리 기한을 정한 매뉴얼이다. 2024년 4월 1일부터 적용한다.",
    ),
    ("h1", "1. 민원 응대 기본 원칙"),
    (
        "p",
        "민원인을 맞이할 때에는 먼저 소속과 이름을 밝히고, 요청 내용을 끝까지 들은 뒤 다시 확인한다. "
        '담당 업무가 아닌 경우에도 "모릅니다"라고 답하지 않고 담당 부서와 연락처를 안내한다.',
    ),
    ("h2", "가. 전화 응대"),
    (
        "p",
        "전화는 벨이 세 번 울리기 전에 받는다. 다른 직원에게 연결할 때에는 민원인에게 연결할 부서와 "
        "직원 이름을 먼저 알리고, 연결이 되지 않으면 30분 이내에 다시 전화하도록 메모를 남긴다.",
    ),
    ("h2", "나. 방문 응대"),
    (
        "p",
        "방문 민원은 번호표 순서에 따라 처리하며, 대기 시간이 20분을 넘으면 안내 직원이 예상 대기 "
        "시간을 알린다. 장애인·임산부·고령자(만 65세 이상)는 우선 창구에서 먼저 응대한다.",
    ),
    ("h1", "2. 민원 처리 기한"),
    ("p+fn", "민원은 접수한 날부터 아래 기한 안에 처리하고 결과를 문서나 문자메시지로 알린다."),
    ("table", ""),
    (
        "p",
        "처리 기한 안에 처리하기 어려운 경우 한 차례 연장할 수 있으며, 연장 사유와 처리 예정일을 "
        "민원인에게 알려야 한다.",
    ),
    ("h1", "3. 특이 민원 대응"),
    ("h2", "가. 폭언·폭행 발생 시"),
    (
        "p",
        "폭언이 계속되면 한 차례 중단을 요청하고, 그래도 계속되면 응대를 종료할 수 있음을 알린 뒤 "
        "통화를 종료한다. 폭행이나 기물 파손이 발생하면 비상벨을 누르고 청사 방호실(내선 2119)에 "
        "연락한다. 피해 직원은 최대 2일의 특별휴가와 심리 상담을 지원받을 수 있다.",
    ),
    ("h2", "나. 반복 민원"),
    (
        "p",
        "같은 내용의 민원을 정당한 사유 없이 3회 이상 반복하여 제출한 경우 2회까지 답변한 뒤 "
        "종결 처리할 수 있다. 종결 처리 사실은 민원인에게 알린다.",
    ),
    ("h1", "4. 문의"),
    ("p", "민원 응대 지침: 고객만족담당관실(내선 2170) / 민원처리시스템 장애: 정보화담당관실(내선 2400)"),
]
COMPLAINT_TABLE = [
    ("민원 유형", "처리 기한", "비고"),
    ("질의 민원(법령 해석 제외)", "7일", "단순 질의는 즉시 답변"),
    ("법령 해석 질의", "14일", "관계 부서 협의 포함"),
    ("건의 민원", "14일", "제도 개선 검토 결과 통보"),
    ("고충 민원", "7일", "현장 조사 필요 시 연장 가능"),
    ("증명서 발급", "즉시", "전자 발급 가능"),
]
COMPLAINT_FOOTNOTE = '처리 기한의 "일"은 근무일 기준이며, 접수한 날은 포함하지 않는다.'

# --- 구 청사 주차장 이용 안내 (CP949 .txt) -----------------------------------------------------

LEGACY_NOTICE = """구청사 주차장 이용 제한 안내

누리행정청 구청사(별관) 주차장 보수 공사로 주차장 이용을 다음과 같이 제한합니다.

1. 제한 기간
2019년 7월 15일(월)부터 8월 9일(금)까지

2. 제한 내용
○ 별관 지상 주차장 전면 폐쇄
○ 민원인 차량은 본관 지하 2층 주차장 이용(2시간 무료)
○ 직원 차량은 공사 기간 중 청사 내 주차 불가

3. 문의
총무과 청사관리담당 (내선 2105)
"""


def _zip_write(archive: zipfile.ZipFile, name: str, data: bytes, *, stored: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _normalize_zip(path: Path) -> None:
    """Rewrite a zip with fixed timestamps so regenerated files do not differ needlessly."""
    with zipfile.ZipFile(path) as src:
        entries = [(i.filename, src.read(i.filename), i.compress_type) for i in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as dst:
        for name, data, kind in entries:
            _zip_write(dst, name, data, stored=kind == zipfile.ZIP_STORED)
    path.write_bytes(buffer.getvalue())


def make_docx(path: Path) -> None:
    import docx
    from docx.shared import Pt

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.language = TRAVEL_TITLE, "누리행정청 재무담당관실", "ko-KR"
    props.created = props.modified = datetime(*FIXED_TIME)
    props.last_modified_by, props.revision = "누리행정청", 1
    document.styles["Normal"].font.size = Pt(10.5)
    document.add_paragraph(TRAVEL_TITLE, style="Title")
    for kind, text in TRAVEL:
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "li":
            document.add_paragraph(text, style="List Number")
        elif kind == "table":
            table = document.add_table(rows=0, cols=3)
            table.style = "Table Grid"
            for row in TRAVEL_TABLE:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value
        else:
            document.add_paragraph(text)
    document.save(str(path))
    _normalize_zip(path)


def make_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    regular, bold = FONT_DIR / "NanumGothic.ttf", FONT_DIR / "NanumGothicBold.ttf"
    if not regular.is_file() or not bold.is_file():
        sys.exit(f"NanumGothic fonts not found in {FONT_DIR}: apt-get install -y fonts-nanum")
    pdfmetrics.registerFont(TTFont("NanumGothic", str(regular)))
    pdfmetrics.registerFont(TTFont("NanumGothicBold", str(bold)))
    styles = {
        "title": ParagraphStyle("title", fontName="NanumGothicBold", fontSize=17, leading=24, spaceAfter=4),
        "h": ParagraphStyle("h", fontName="NanumGothicBold", fontSize=13, leading=19, spaceBefore=10, spaceAfter=4),
        "p": ParagraphStyle("p", fontName="NanumGothic", fontSize=10.5, leading=17, spaceAfter=6),
    }
    story: list[object] = []
    for number, page in enumerate(PRIVACY_PAGES):
        if number:
            story.append(PageBreak())
        for kind, text in page:
            story.append(Paragraph(escape(text), styles[kind]))
            if kind == "title":
                story.append(Spacer(1, 2 * mm))
    doc = SimpleDocTemplate(
        str(path), pagesize=A4, title=PRIVACY_TITLE, author="누리행정청 정보보안담당관실",
        subject="개인정보 보호", invariant=1,
        leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm, bottomMargin=20 * mm,
    )  # fmt: skip
    doc.build(story)


# HWPX: the namespaces and package layout Hancom Office 2018+ writes.
_NS = (
    'xmlns:ha="http://www.hancom.co.kr/hwpml/2011/app" '
    'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph" '
    'xmlns:hp10="http://www.hancom.co.kr/hwpml/2016/paragraph" '
    'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
    'xmlns:hc="http://www.hancom.co.kr/hwpml/2011/core" '
    'xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head" '
    'xmlns:hhs="http://www.hancom.co.kr/hwpml/2011/history" '
    'xmlns:hm="http://www.hancom.co.kr/hwpml/2011/master-page" '
    'xmlns:hpf="http://www.hancom.co.kr/schema/2011/hpf" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:opf="http://www.idpf.org/2007/opf/" '
    'xmlns:ooxmlchart="http://www.hancom.co.kr/hwpml/2016/ooxmlchart" '
    'xmlns:hwpunitchar="http://www.hancom.co.kr/hwpml/2016/HwpUnitChar" '
    'xmlns:epub="http://www.idpf.org/2007/ops" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"'
)
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>'
_TEXT_WIDTH = 42520  # A4 width 59528 minus 8504 left and right margins

# charPr ids: 0 body 10pt, 1 title 16pt bold, 2 outline 1 13pt bold, 3 outline 2 11pt bold, 4 table 9.5pt
_CHAR_PRS = [(1000, False), (1600, True), (1300, True), (1100, True), (950, False)]
# paraPr ids: 0 body, 1 title (centered), 2 outline level 0, 3 outline level 1, 4 table cell
_PARA_PRS = [("JUSTIFY", None), ("CENTER", None), ("LEFT", 0), ("LEFT", 1), ("CENTER", None)]
# styles: (id, name, engName, paraPr, charPr)
_STYLES = [
    (0, "바탕글", "Normal", 0, 0),
    (1, "본문", "Body", 0, 0),
    (2, "개요 1", "Outline 1", 2, 2),
    (3, "개요 2", "Outline 2", 3, 3),
    (4, "제목", "Title", 1, 1),
    (5, "각주", "Footnote", 0, 4),
]


def _header_xml() -> str:
    langs = ["HANGUL", "LATIN", "HANJA", "JAPANESE", "OTHER", "SYMBOL", "USER"]
    fontfaces = "".join(
        f'<hh:fontface lang="{lang}" fontCnt="1"><hh:font id="0" face="함초롬바탕" type="TTF" isEmbedded="0">'
        '<hh:typeInfo familyType="FCAT_GOTHIC" weight="6" proportion="4" contrast="0" strokeVariation="1" '
        'armStyle="1" letterform="1" midline="1" xHeight="1"/></hh:font></hh:fontface>'
        for lang in langs
    )
    border = '<hh:{0}Border type="{1}" width="0.12 mm" color="#000000"/>'
    border_fills = "".join(
        f'<hh:borderFill id="{i}" threeD="0" shadow="0" centerLine="NONE" breakCellSeparateLine="0">'
        '<hh:slash type="NONE" Crooked="0" isCounter="0"/>'
        '<hh:backSlash type="NONE" Crooked="0" isCounter="0"/>'
        + "".join(border.format(side, kind) for side in ("left", "right", "top", "bottom"))
        + '<hh:diagonal type="SOLID" width="0.1 mm" color="#000000"/></hh:borderFill>'
        for i, kind in ((1, "NONE"), (2, "SOLID"))
    )
    font_ref = 'hangul="0" latin="0" hanja="0" japanese="0" other="0" symbol="0" user="0"'
    char_prs = "".join(
        f'<hh:charPr id="{i}" height="{height}" textColor="#000000" shadeColor="none" useFontSpace="0" '
        f'useKerning="0" symMark="NONE" borderFillIDRef="1"><hh:fontRef {font_ref}/>'
        f"<hh:ratio {font_ref.replace('0', '100')}/><hh:spacing {font_ref}/>"
        f"<hh:relSz {font_ref.replace('0', '100')}/><hh:offset {font_ref}/>"
        + ("<hh:bold/>" if bold else "")
        + '<hh:underline type="NONE" shape="SOLID" color="#000000"/>'
        '<hh:strikeout shape="NONE" color="#000000"/><hh:outline type="NONE"/>'
        '<hh:shadow type="NONE" color="#B2B2B2" offsetX="10" offsetY="10"/></hh:charPr>'
        for i, (height, bold) in enumerate(_CHAR_PRS)
    )
    para_prs = "".join(
        f'<hh:paraPr id="{i}" tabPrIDRef="0" condense="0" fontLineHeight="0" snapToGrid="1" '
        'suppressLineNumbers="0" checked="0">'
        f'<hh:align horizontal="{align}" vertical="BASELINE"/>'
        + (
            f'<hh:heading type="OUTLINE" idRef="1" level="{level}"/>'
            if level is not None
            else '<hh:heading type="NONE" idRef="0" level="0"/>'
        )
        + '<hh:breakSetting breakLatinWord="KEEP_WORD" breakNonLatinWord="KEEP_WORD" widowOrphan="0" '
        f'keepWithNext="{1 if level is not None else 0}" keepLines="0" pageBreakBefore="0" lineWrap="BREAK"/>'
        '<hh:autoSpacing eAsianEng="0" eAsianNum="0"/>'
        '<hh:margin><hc:intent value="0" unit="HWPUNIT"/><hc:left value="0" unit="HWPUNIT"/>'
        '<hc:right value="0" unit="HWPUNIT"/>'
        f'<hc:prev value="{1000 if level is not None else 0}" unit="HWPUNIT"/>'
        '<hc:next value="0" unit="HWPUNIT"/></hh:margin>'
        '<hh:lineSpacing type="PERCENT" value="160" unit="HWPUNIT"/>'
        '<hh:border borderFillIDRef="1" offsetLeft="0" offsetRight="0" offsetTop="0" offsetBottom="0" '
        'connect="0" ignoreMargin="0"/></hh:paraPr>'
        for i, (align, level) in enumerate(_PARA_PRS)
    )
    heads = "".join(
        f'<hh:paraHead start="1" level="{n}" align="LEFT" useInstWidth="1" autoIndent="1" widthAdjust="0" '
        f'textOffsetType="PERCENT" textOffset="50" numFormat="{fmt}" charPrIDRef="4294967295" checkable="0">'
        f"</hh:paraHead>"
        for n, fmt in ((1, "DIGIT"), (2, "HANGUL_SYLLABLE"))
    )  # empty paraHead text: the headings carry their own "1." / "가." numbers
    styles = "".join(
        f'<hh:style id="{sid}" type="PARA" name="{name}" engName="{eng}" paraPrIDRef="{pp}" '
        f'charPrIDRef="{cp}" nextStyleIDRef="{0 if sid in (2, 3, 4) else sid}" langID="1042" lockForm="0"/>'
        for sid, name, eng, pp, cp in _STYLES
    )
    return (
        f'{_XML}<hh:head {_NS} version="1.4" secCnt="1">'
        '<hh:beginNum page="1" footnote="1" endnote="1" pic="1" tbl="1" equation="1"/>'
        f'<hh:refList><hh:fontfaces itemCnt="{len(langs)}">{fontfaces}</hh:fontfaces>'
        f'<hh:borderFills itemCnt="2">{border_fills}</hh:borderFills>'
        f'<hh:charProperties itemCnt="{len(_CHAR_PRS)}">{char_prs}</hh:charProperties>'
        '<hh:tabProperties itemCnt="1"><hh:tabPr id="0" autoTabLeft="0" autoTabRight="0"/></hh:tabProperties>'
        f'<hh:numberings itemCnt="1"><hh:numbering id="1" start="0">{heads}</hh:numbering></hh:numberings>'
        f'<hh:paraProperties itemCnt="{len(_PARA_PRS)}">{para_prs}</hh:paraProperties>'
        f'<hh:styles itemCnt="{len(_STYLES)}">{styles}</hh:styles></hh:refList>'
        '<hh:compatibleDocument targetProgram="HWP201X"><hh:layoutCompatibility/></hh:compatibleDocument>'
        '<hh:docOption><hh:linkinfo path="" pageInherit="0" footnoteInherit="0"/></hh:docOption>'
        '<hh:trackchageConfig flags="56"/></hh:head>'
    )


class _Ids:
    def __init__(self) -> None:
        self.value = 1000

    def __call__(self) -> int:
        self.value += 1
        return self.value


_SUBLIST = (
    '<hp:subList id="" textDirection="HORIZONTAL" lineWrap="BREAK" vertAlign="{align}" linkListIDRef="0" '
    'linkListNextIDRef="0" textWidth="0" textHeight="0" hasTextRef="0" hasNumRef="0">{body}</hp:subList>'
)


def _para(ids: _Ids, text: str, style: int, para_pr: int, char_pr: int, extra: str = "") -> str:
    return (
        f'<hp:p id="{ids()}" paraPrIDRef="{para_pr}" styleIDRef="{style}" '
        'pageBreak="0" columnBreak="0" merged="0">'
        f'<hp:run charPrIDRef="{char_pr}"><hp:t>{escape(text)}</hp:t>{extra}</hp:run></hp:p>'
    )


def _footnote(ids: _Ids, text: str) -> str:
    body = (
        f'<hp:p id="{ids()}" paraPrIDRef="0" styleIDRef="5" pageBreak="0" columnBreak="0" merged="0">'
        '<hp:run charPrIDRef="4"><hp:ctrl><hp:autoNum num="1" numType="FOOTNOTE">'
        '<hp:autoNumFormat type="DIGIT" userChar="" prefixChar="" suffixChar=")" supscript="0"/>'
        f"</hp:autoNum></hp:ctrl><hp:t> {escape(text)}</hp:t></hp:run></hp:p>"
    )
    return (
        f'<hp:ctrl><hp:footNote number="1" suffixChar="41" instId="{ids()}">'
        + _SUBLIST.format(align="TOP", body=body)
        + "</hp:footNote></hp:ctrl>"
    )


def _table(ids: _Ids, rows: list[tuple[str, str, str]]) -> str:
    widths = [17000, 9000, _TEXT_WIDTH - 26000]
    trs = []
    for r, row in enumerate(rows):
        tcs = []
        for c, (text, width) in enumerate(zip(row, widths, strict=True)):
            cell_para = _para(ids, text, 0, 4, 4)
            tcs.append(
                f'<hp:tc name="" header="{1 if r == 0 else 0}" hasMargin="0" protect="0" editable="0" '
                'dirty="0" borderFillIDRef="2">'
                + _SUBLIST.format(align="CENTER", body=cell_para)
                + f'<hp:cellAddr colAddr="{c}" rowAddr="{r}"/><hp:cellSpan colSpan="1" rowSpan="1"/>'
                f'<hp:cellSz width="{width}" height="1700"/>'
                '<hp:cellMargin left="510" right="510" top="141" bottom="141"/></hp:tc>'
            )
        trs.append("<hp:tr>" + "".join(tcs) + "</hp:tr>")
    table = (
        f'<hp:tbl id="{ids()}" zOrder="0" numberingType="TABLE" textWrap="TOP_AND_BOTTOM" '
        'textFlow="BOTH_SIDES" '
        'lock="0" dropcapstyle="None" pageBreak="CELL" repeatHeader="1" '
        f'rowCnt="{len(rows)}" colCnt="3" cellSpacing="0" borderFillIDRef="2" noAdjust="0">'
        f'<hp:sz width="{_TEXT_WIDTH}" widthRelTo="ABSOLUTE" height="{1700 * len(rows)}" '
        'heightRelTo="ABSOLUTE" protect="0"/>'
        '<hp:pos treatAsChar="1" affectLSpacing="0" flowWithText="1" allowOverlap="0" holdAnchorAndSO="0" '
        'vertRelTo="PARA" horzRelTo="COLUMN" vertAlign="TOP" horzAlign="LEFT" vertOffset="0" horzOffset="0"/>'
        '<hp:outMargin left="0" right="0" top="0" bottom="0"/>'
        '<hp:inMargin left="510" right="510" top="141" bottom="141"/>' + "".join(trs) + "</hp:tbl>"
    )
    return (
        f'<hp:p id="{ids()}" paraPrIDRef="4" styleIDRef="0" pageBreak="0" columnBreak="0" merged="0">'
        f'<hp:run charPrIDRef="0">{table}<hp:t/></hp:run></hp:p>'
    )


_SEC_PR = (
    '<hp:secPr id="" textDirection="HORIZONTAL" spaceColumns="1134" tabStop="8000" tabStopVal="4000" '
    'tabStopUnit="HWPUNIT" outlineShapeIDRef="1" memoShapeIDRef="0" textVerticalWidthHead="0" '
    'masterPageCnt="0">'
    '<hp:grid lineGrid="0" charGrid="0" wonggojiFormat="0"/>'
    '<hp:startNum pageStartsOn="BOTH" page="0" pic="0" tbl="0" equation="0"/>'
    '<hp:visibility hideFirstHeader="0" hideFirstFooter="0" hideFirstMasterPage="0" border="SHOW_ALL" '
    'fill="SHOW_ALL" hideFirstPageNum="0" hideFirstEmptyLine="0" showLineNumber="0"/>'
    '<hp:lineNumberShape restartType="0" countBy="0" distance="0" startNumber="0"/>'
    '<hp:pagePr landscape="WIDELY" width="59528" height="84186" gutterType="LEFT_ONLY">'
    '<hp:margin header="4252" footer="4252" gutter="0" left="8504" right="8504" top="5668" bottom="4252"/>'
    "</hp:pagePr>"
    '<hp:footNotePr><hp:autoNumFormat type="DIGIT" userChar="" prefixChar="" suffixChar=")" supscript="0"/>'
    '<hp:noteLine length="-1" type="SOLID" width="0.12 mm" color="#000000"/>'
    '<hp:noteSpacing betweenNotes="283" belowLine="567" aboveLine="850"/>'
    '<hp:numbering type="CONTINUOUS" newNum="1"/><hp:placement place="EACH_COLUMN" beneathText="0"/>'
    "</hp:footNotePr>"
    '<hp:endNotePr><hp:autoNumFormat type="DIGIT" userChar="" prefixChar="" suffixChar=")" supscript="0"/>'
    '<hp:noteLine length="14692344" type="SOLID" width="0.12 mm" color="#000000"/>'
    '<hp:noteSpacing betweenNotes="0" belowLine="567" aboveLine="850"/>'
    '<hp:numbering type="CONTINUOUS" newNum="1"/><hp:placement place="END_OF_DOCUMENT" beneathText="0"/>'
    "</hp:endNotePr>"
    '<hp:pageBorderFill type="BOTH" borderFillIDRef="1" textBorder="PAPER" headerInside="0" footerInside="0" '
    'fillArea="PAPER"><hp:offset left="1417" right="1417" top="1417" bottom="1417"/></hp:pageBorderFill>'
    "</hp:secPr>"
    '<hp:ctrl><hp:colPr id="" type="NEWSPAPER" layout="LEFT" colCount="1" sameSz="1" sameGap="0"/></hp:ctrl>'
)


def _section_xml() -> str:
    ids = _Ids()
    paras = []
    for kind, text in COMPLAINT:
        if kind == "title":
            paras.append(
                '<hp:p id="0" paraPrIDRef="1" styleIDRef="4" pageBreak="0" columnBreak="0" merged="0">'
                f'<hp:run charPrIDRef="1">{_SEC_PR}</hp:run>'
                f'<hp:run charPrIDRef="1"><hp:t>{escape(text)}</hp:t></hp:run></hp:p>'
            )
        elif kind == "h1":
            paras.append(_para(ids, text, 2, 2, 2))
        elif kind == "h2":
            paras.append(_para(ids, text, 3, 3, 3))
        elif kind == "table":
            paras.append(_table(ids, COMPLAINT_TABLE))
        elif kind == "p+fn":
            paras.append(_para(ids, text, 1, 0, 0, extra=_footnote(ids, COMPLAINT_FOOTNOTE)))
        else:
            paras.append(_para(ids, text, 1, 0, 0))
    return f"{_XML}<hs:sec {_NS}>{''.join(paras)}</hs:sec>"


def make_hwpx(path: Path) -> None:
    content_hpf = (
        f'{_XML}<opf:package {_NS} version="" unique-identifier="" id="">'
        f"<opf:metadata><opf:title>{escape(COMPLAINT_TITLE)}</opf:title><opf:language>ko</opf:language>"
        '<opf:meta name="creator" content="text">누리행정청 고객만족담당관실</opf:meta>'
        '<opf:meta name="CreatedDate" content="text">2024-01-02T09:00:00Z</opf:meta>'
        '<opf:meta name="ModifiedDate" content="text">2024-01-02T09:00:00Z</opf:meta></opf:metadata>'
        '<opf:manifest><opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
        '<opf:item id="section0" href="Contents/section0.xml" media-type="application/xml"/>'
        '<opf:item id="settings" href="settings.xml" media-type="application/xml"/></opf:manifest>'
        '<opf:spine><opf:itemref idref="header" linear="yes"/><opf:itemref idref="section0" linear="yes"/>'
        "</opf:spine></opf:package>"
    )
    container = (
        f'{_XML}<ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:hpf="http://www.hancom.co.kr/schema/2011/hpf"><ocf:rootfiles>'
        '<ocf:rootfile full-path="Contents/content.hpf" media-type="application/hwpml-package+xml"/>'
        '<ocf:rootfile full-path="Preview/PrvText.txt" media-type="text/plain"/>'
        "</ocf:rootfiles></ocf:container>"
    )
    manifest = f'{_XML}<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'
    version = (
        f'{_XML}<hv:HCFVersion xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" '
        'tagetApplication="WORDPROCESSOR" major="5" minor="1" micro="0" buildNumber="1" os="1" '
        'xmlVersion="1.4" application="Hancom Office Hangul" appVersion="11, 0, 0, 0 WIN32LEWindows_10"/>'
    )
    settings = (
        f'{_XML}<ha:HWPApplicationSetting xmlns:ha="http://www.hancom.co.kr/hwpml/2011/app" '
        'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0">'
        '<ha:CaretPosition listIDRef="0" paraIDRef="0" pos="0"/></ha:HWPApplicationSetting>'
    )
    preview = "\r\n".join(text for kind, text in COMPLAINT if kind != "table")[:1000]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _zip_write(archive, "mimetype", b"application/hwp+zip", stored=True)  # first, uncompressed
        _zip_write(archive, "version.xml", version.encode())
        _zip_write(archive, "Contents/header.xml", _header_xml().encode())
        _zip_write(archive, "Contents/section0.xml", _section_xml().encode())
        _zip_write(archive, "Preview/PrvText.txt", preview.encode())
        _zip_write(archive, "settings.xml", settings.encode())
        _zip_write(archive, "META-INF/container.xml", container.encode())
        _zip_write(archive, "META-INF/manifest.xml", manifest.encode())
        _zip_write(archive, "Contents/content.hpf", content_hpf.encode())
    path.write_bytes(buffer.getvalue())


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    make_docx(CORPUS / "travel_expense_manual.docx")
    make_pdf(CORPUS / "privacy_plan_summary.pdf")
    make_hwpx(CORPUS / "civil_complaint_manual.hwpx")
    (CORPUS / "legacy_parking_notice_cp949.txt").write_bytes(LEGACY_NOTICE.encode("cp949"))


if __name__ == "__main__":
    main()
