"""The shared rendering helpers: escaping, bounds, formula safety, files."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from itaudit.report import render

HOSTILE = '<script>alert("x")</script>\'"&'


def _page(**context):
    source = (
        '{% extends "base.html" %}{% block title %}{{ name }}{% endblock %}'
        "{% block content %}<p id=v>{{ name }}</p>{% endblock %}"
    )
    return render.environment("vi").from_string(source).render(**context)


def test_html_escapes_untrusted_text():
    html = _page(name=HOSTILE)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;&#34;&amp;" in html


def test_html_bounds_a_10kb_value():
    html = _page(name="A" * 10_000)
    assert "A" * render.MAX_TEXT not in html
    assert "A" * (render.MAX_TEXT - 1) + render.ELLIPSIS in html


def test_base_layout_forbids_every_external_request():
    html = _page(name="x")
    assert "default-src 'none'" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "@media print" in html and "size:A4" in html


def test_filters_follow_the_language():
    env = render.environment("vi")
    out = env.from_string("{{ d|date }} {{ p|percent }} {{ n|number }}").render(
        d=date(2026, 11, 23), p=108.108, n=40921
    )
    assert out == "23/11/2026 108,1 % 40.921"
    out = (
        render.environment("en")
        .from_string("{{ d|date }} {{ n|number }}")
        .render(d=date(2026, 11, 23), n=40921)
    )
    assert out == "2026-11-23 40,921"


def test_undefined_variable_is_an_error():
    with pytest.raises(render.RenderError):
        render.render_html("no-such-template.html", "vi")


def test_markdown_escapes_and_keeps_one_line():
    cell = render.md_escape("a|b\n<i>*x*</i>")
    assert cell == "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt;"
    table = render.md_table(["h"], [["x|y"]])
    assert table.splitlines()[2] == "| x\\|y |"


@pytest.mark.parametrize("text", ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_neutralises_formulas(text):
    data = render.csv_text(["h"], [[text]])
    cell = list(csv.reader(io.StringIO(data)))[1][0]
    assert cell == "'" + text


def test_csv_keeps_numbers_numeric_and_writes_a_bom(tmp_path):
    path = render.write_csv(tmp_path / "x.csv", ["Đơn vị", "n"], [["Cơ quan Sở", -3]])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["Đơn vị", "n"], ["Cơ quan Sở", "-3"]]


def test_xlsx_text_is_never_a_formula(tmp_path):
    from openpyxl import load_workbook

    path = render.write_xlsx(
        tmp_path / "x.xlsx", [render.Sheet("Units", ["a", "b"], [["=1+1", 5], ["x\x07y", None]])]
    )
    ws = load_workbook(path)["Units"]
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 5
    assert ws["A3"].value == "xy"


def test_docx_table_survives_control_characters(tmp_path):
    from docx import Document

    doc = render.docx_document("Phụ lục")
    render.docx_table(doc, ["TT", "Chỉ tiêu"], [["1", "a\x00b\x1bc"], ["2", "dòng 1\ndòng 2"]])
    path = render.save_docx(doc, tmp_path / "x.docx")
    table = Document(str(path)).tables[0]
    assert [c.text for c in table.rows[1].cells] == ["1", "abc"]
    assert table.rows[2].cells[1].text == "dòng 1\ndòng 2"


def test_writes_are_whole_files(tmp_path):
    target = tmp_path / "sub" / "r.html"
    render.write_html(target, "<p>Xin chào</p>")
    assert target.read_text(encoding="utf-8") == "<p>Xin chào</p>"
    assert [p.name for p in target.parent.iterdir()] == ["r.html"]


def test_unwritable_target_is_a_render_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(render.RenderError, match="cannot write"):
        render.write_html(blocker / "r.html", "x")
