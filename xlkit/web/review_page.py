"""审核提示 on the web, for 审核员 and 管理员: the same list as the summary's sheet, and the 复核 sample drawn from a
form (n, seed → the workbook). A department's officer sees neither (404, as a page that does not exist)."""

from __future__ import annotations

import io
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request, send_file

from ..bureau.review import KINDS, review
from ..bureau.review_sample import draw_sample, write_sample
from ..campaign.account import consolidate_campaign
from ..campaign.checks import Bounds
from ..errors import ConsolidationError
from . import pages

REVIEW = pages.OFFICER + """<p><a href="/admin">← 报送情况</a></p>
<section><h2>复核抽样</h2>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
{% if has_review %}<form method="get" action="/admin/review"><label>随机抽查 <input type="text" name="n" value="{{ n }}" size="5"> 个</label>
<label>种子 <input type="text" name="seed" value="{{ seed }}" size="10" placeholder="不填则新取"></label>
<input type="submit" value="抽取并下载"></form>
<p class="muted">风险分达到 {{ threshold }} 的单位全部列入重点复核；其余单位按编码排序，
以种子随机抽取。同一种子重新抽取，结果相同；种子写在下载的文件名和抽样说明中。</p>
{% else %}<p class="muted">本表式未设定审核提示（review 部分）。</p>{% endif %}</section>
<section><h2>审核提示（{{ year }} 年度）</h2>
<table><tr><th>单位编码</th><th>单位名称</th><th>主管部门</th><th>提示</th><th>栏目</th><th>数据</th><th>关注原因</th><th>风险分</th></tr>
{% for s in signals %}<tr><td><a href="/admin/unit/{{ s.unit_code }}">{{ s.unit_code }}</a></td><td>{{ s.unit_name }}</td>
<td>{{ s.department }}</td><td>{{ kinds[s.kind] }}</td><td>{{ s.subject }}</td><td>{{ s.figures }}</td><td>{{ s.why }}</td>
<td>{{ risk[s.unit_code] }}</td></tr>{% endfor %}</table>
{% if not signals %}<p class="muted">未发现需要提示的情况。</p>{% endif %}
{% for note in notes %}<p class="muted">{{ note }}</p>{% endfor %}</section>"""
MAX_SEED = 2**63 - 1


def register(app: Flask, folder: Path, page: Callable[..., tuple[str, int]], bounds: Bounds) -> None:
    @app.get("/admin/review")
    def review_board() -> Any:
        """The list; with `n` (and `seed`) in the query, the sample's workbook instead."""
        if not g.actor.bureau:
            abort(404)
        result, _checked = consolidate_campaign(str(folder), bounds)
        found = review(result)
        n_text, seed_text = request.args.get("n", "").strip(), request.args.get("seed", "").strip()
        error = ""
        if "n" in request.args and result.spec.review is not None:
            n, seed = _whole(n_text, 100_000), _whole(seed_text, MAX_SEED) if seed_text else secrets.randbelow(10**6)
            if n is None or seed is None:
                error = "抽查数量和种子须为不小于 0 的整数（种子用于重新抽出同样的单位）。"
            else:
                try:
                    sample = draw_sample(result, n, seed, found)
                except ConsolidationError as exc:
                    error = str(exc)
                else:
                    with tempfile.TemporaryDirectory(prefix="download-", dir=folder / "incoming") as scratch:
                        out = Path(scratch) / "sample.xlsx"
                        write_sample(result, sample, out)
                        data = io.BytesIO(out.read_bytes())
                    return send_file(data, as_attachment=True, download_name=f"复核抽样_种子{seed}.xlsx")
        threshold = result.spec.review.risk_threshold if result.spec.review else 0
        return page("审核提示", REVIEW, 400 if error else 200, year=result.year, signals=found.signals, notes=found.notes,
                    risk={code: f"{value:g}" for code, value in found.risk().items()}, kinds=KINDS, error=error,
                    has_review=result.spec.review is not None, threshold=f"{threshold:g}", n=n_text or "10", seed=seed_text,
                    actor=g.actor)


def _whole(text: str, most: int) -> int | None:
    return int(text) if text.isdigit() and int(text) <= most else None
