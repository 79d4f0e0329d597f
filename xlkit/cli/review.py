"""`xlkit review-sample`: the 复核 sample from a campaign folder or the inputs of a consolidation."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from .common import CliError, bounds, reports_errors
from .helptext import command


@command(name="review-sample")
@click.argument("source", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--n", "n", required=True, type=click.IntRange(0, 100_000), metavar="N", help="从风险阈值以下的单位中随机抽取的个数。")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), metavar="SEED", help="抽样的种子（默认：新取一个并显示）：同一种子抽出同样的单位。")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的样本工作簿（.xlsx）。")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False), help="单位名单（仅用于文件输入）：联系人和主管部门。")
@click.option("--year", type=click.IntRange(2000, 2100), metavar="YEAR", help="报送年度（仅用于文件输入；默认：文件中最常见的年度）。")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="表式文件或文件夹（仅用于文件输入）；可重复。")
@bounds
@reports_errors
def review_sample(source: tuple[str, ...], n: int, seed: int | None, output: str, roster_path: str | None, year: int | None,
                  spec_paths: tuple[str, ...], jobs: int | None, timeout: float, memory_mb: int) -> None:
    """抽取复核样本。审核信号加权后达到表式风险阈值的单位全部入选，其余单位随机抽取 N 个；SOURCE 为报送任务目录，
    或汇总用的文件和文件夹。"""

    from ..bureau.consolidate import entity
    from ..bureau.review_sample import draw_sample, write_sample
    from ..campaign.ledger import is_campaign

    if len(source) == 1 and is_campaign(Path(source[0])):
        if roster_path or year or spec_paths:
            raise CliError("报送任务目录自带名单、年度和表式：不要再给 --roster、--year 或 --spec")
        from ..campaign.account import consolidate_campaign
        from ..campaign.checks import Bounds

        result, _checked = consolidate_campaign(source[0], Bounds(jobs, timeout, memory_mb))
    else:
        from ..bureau.consolidate import consolidate
        from ..bureau.roster import load_roster

        roster = load_roster(roster_path) if roster_path else None
        result = consolidate(list(source), roster, tuple(spec_paths), year, jobs=jobs, timeout=timeout, memory_mb=memory_mb)
    drawn_seed = seed if seed is not None else secrets.randbelow(10**6)
    sample = draw_sample(result, n, drawn_seed)
    write_sample(result, sample, output)
    heavy = sum(1 for c in sample.chosen if not c.drawn)
    click.echo(f"复核样本：{len(sample.chosen)} 个（重点复核 {heavy} 个，随机抽查 {len(sample.chosen) - heavy} 个，种子 {drawn_seed}），"
               f"共 {sample.units} 个{entity(result.spec)}。{output}")
    if seed is None:
        click.echo(f"未指定 --seed：本次种子为 {drawn_seed}，用 --seed {drawn_seed} 可重新抽出同样的单位", err=True)
    sys.stdout.flush()
