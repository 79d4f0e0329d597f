"""The intake app's pages, in Chinese: Jinja templates (autoescaped), one layout, no scripts a page needs to work.
The style and the one script are constants passed in as they are (ours, not escaped): the Content-Security-Policy
allows exactly these texts by their sha256, and no inline style attribute anywhere."""

from __future__ import annotations

from jinja2 import Environment, Template

from ..caches import memo


@memo(32)
def compiled(environment: Environment, source: str) -> Template:
    """A page's template, compiled once per server: compiling took ~30 ms a page, on every request (Flask's
    render_template_string compiles each time). The pages use nothing of Flask's template context."""
    return environment.from_string(source)


STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f6f8;color:#222;font-size:15px}
header{background:#1f4e79;color:#fff;padding:12px 24px}header h1{font-size:19px;margin:0}
main{max-width:1100px;margin:18px auto;padding:0 16px}section{background:#fff;border:1px solid #d0d7de;border-radius:6px;
padding:14px 18px;margin-bottom:16px}h2{font-size:17px;margin:0 0 10px}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #c8ccd0;padding:5px 8px;text-align:left;vertical-align:top}th{background:#ddebf7}
.ok{color:#1a7f37}.warn{color:#9a6700}.err{color:#cf222e}.muted{color:#666;font-size:13px}
.drop{border:2px dashed #8c959f;border-radius:6px;padding:18px;text-align:center;background:#fafbfc}
.drop.over{background:#ddf4ff;border-color:#0969da}button,input[type=submit]{padding:6px 16px;font-size:15px}
.counts span{display:inline-block;margin-right:18px}.flash{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;
border-radius:6px;margin-bottom:12px}input[type=text],input[type=password],input[type=search],select{padding:4px 6px;font-size:15px}
textarea{width:100%;min-height:38px;font-size:14px}form.inline{display:inline}div.muted{margin-bottom:12px}
"""

SCRIPT = """
(function(){var d=document.getElementById("drop"),f=document.getElementById("file"),u=document.getElementById("upload");d.classList.add("js");
["dragenter","dragover"].forEach(function(e){d.addEventListener(e,function(v){v.preventDefault();d.classList.add("over");});});
["dragleave","drop"].forEach(function(e){d.addEventListener(e,function(v){v.preventDefault();d.classList.remove("over");});});
d.addEventListener("drop",function(v){if(v.dataTransfer.files.length){f.files=v.dataTransfer.files;u.submit();}});})();
"""

LAYOUT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{{ style }}</style></head><body>
<header><h1>{{ heading }}</h1></header><main>{% if flash %}<div class="flash" role="status">{{ flash }}</div>{% endif %}
{{ body }}</main></body></html>"""

ISSUES = """{% macro issue_table(issues, explain_form=None, receipt=None, csrf=None, action=None) %}
{% set errors = issues | selectattr("severity", "equalto", "error") | list %}
{% set warnings = issues | selectattr("severity", "equalto", "warning") | list %}
{% if errors %}<h3 class="err">需要修改的错误（{{ errors | length }} 个）</h3>
<table><tr><th>工作表</th><th>单元格</th><th>栏目</th><th>应为</th><th>实为</th><th>如何修改</th></tr>
{% for i in errors %}<tr><td>{{ i.sheet or "" }}</td><td>{{ i.cell or "" }}</td><td>{{ i.label }}</td><td>{{ i.expected }}</td>
<td>{{ i.found }}</td><td>{{ i.message }}</td></tr>{% endfor %}</table>{% endif %}
{% if warnings %}<h3 class="warn">警告（{{ warnings | length }} 个）：请核实；属实的请填写说明</h3>
{% if action %}<form method="post" action="{{ action }}"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="receipt" value="{{ receipt }}">{% endif %}
<table><tr><th>工作表</th><th>单元格</th><th>栏目</th><th>本表数</th><th>比较数</th><th>提示</th><th>说明</th></tr>
{% for i in warnings %}<tr><td>{{ i.sheet or "" }}</td><td>{{ i.cell or "" }}</td><td>{{ i.label }}</td><td>{{ i.found }}</td>
<td>{{ i.expected }}</td><td>{{ i.message }}</td><td>{% if i.explanation %}{{ i.explanation }}{% elif action %}
<textarea name="note-{{ i.index }}" aria-label="说明：{{ i.label }}"></textarea>{% else %}<span class="muted">未说明</span>{% endif %}</td></tr>
{% endfor %}</table>{% if action %}<p><input type="submit" value="保存说明"></p></form>{% endif %}{% endif %}
{% if not errors and not warnings %}<p class="ok">未发现问题。</p>{% endif %}
{% endmacro %}"""

UNIT = ISSUES + """
<section><h2>{{ unit.name }}（单位编码 {{ unit.code }}）</h2>
<p>报送任务：{{ year }} 年度{{ form_title }}{% if deadline %}；截止日期 {{ deadline }}（{{ days_left }}）{% endif %}</p>
<p>当前状态：<strong>{{ unit.label }}</strong>（{{ unit.step }}）</p></section>
<section><h2>上传报表</h2>
<form method="post" action="{{ upload_url }}" enctype="multipart/form-data" id="upload">
<input type="hidden" name="csrf" value="{{ csrf }}">
<div class="drop" id="drop"><p>把填好的 .xlsx 文件拖到这里，或选择文件：</p>
<input type="file" name="file" id="file" accept=".xlsx" required></div>
<p><input type="submit" value="上传并检查"> <span class="muted">文件不超过 {{ max_mb }} MB；上传后立即检查，结果显示在下方。</span></p></form>
<script>{{ script }}</script></section>
{% if result %}<section id="result"><h2>检查结果：{{ result.name }}（收件 {{ result.id }}，{{ result.time }}）</h2>
{{ issue_table(result.issues, receipt=result.id, csrf=csrf, action=explain_url) }}</section>{% endif %}
<section><h2>报送记录</h2>{% if history %}<table><tr><th>时间</th><th>事项</th></tr>
{% for time, text in history %}<tr><td>{{ time }}</td><td>{{ text }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">还没有报送记录。</p>{% endif %}
{% if letters %}<p>财政部门的审核意见：{% for name in letters %}<a href="{{ letters_url }}{{ name }}">{{ name }}</a> {% endfor %}</p>{% endif %}
</section>"""

LOGIN = """<section><h2>财政部门登录</h2>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/admin/login">
<input type="hidden" name="csrf" value="{{ csrf }}"><p><label>账号 <input type="text" name="login" autocomplete="username"
placeholder="admin" autofocus></label> <label>密码 <input type="password" name="password" autocomplete="current-password" required></label>
<input type="submit" value="登录"></p><p class="muted">未填账号时为管理员账号 admin。</p></form></section>"""

OFFICER = """<div class="muted">{{ actor.name }}（{{ actor.login }}，{{ roles[actor.role] }}
{%- if actor.department %} {{ actor.department }}{% endif %}）
· <a href="/admin/password">更改密码</a>{% if actor.role == "admin" %} · <a href="/admin/accounts">账号</a>{% endif %}
<form method="post" action="/admin/logout" class="inline"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="submit" value="退出登录"></form></div>"""

BOARD = OFFICER + """<section><h2>报送情况（{{ year }} 年度）</h2>
<p class="counts">{% for label, n in counts %}<span>{{ label }} <strong>{{ n }}</strong></span>{% endfor %}</p>
<form method="get" action="/admin"><label>主管部门 <select name="department"><option value="">全部</option>
{% for d in departments %}<option value="{{ d }}"{% if d == department %} selected{% endif %}>{{ d }}</option>{% endfor %}</select></label>
<label>状态 <select name="status"><option value="">全部</option>{% for key, label in statuses %}
<option value="{{ key }}"{% if key == status %} selected{% endif %}>{{ label }}</option>{% endfor %}</select></label>
<label>单位 <input type="search" name="q" value="{{ q }}" placeholder="编码或名称"></label> <input type="submit" value="筛选"></form>
<p><a href="/admin/download/summary.xlsx">下载汇总表</a> · <a href="/admin/download/summary.csv">下载 CSV</a> ·
<a href="/admin/download/reminders.xlsx">下载催报名单</a>{% if actor.role != "department" %} ·
<a href="/admin/download/audit.csv">下载审计记录</a>{% endif %}{% if actor.bureau %} ·
<a href="/admin/review">审核提示与复核抽样</a>{% endif %}</p>
<table><tr><th>单位编码</th><th>单位名称</th><th>主管部门</th><th>联系人</th><th>电话</th><th>状态</th><th>环节</th><th>最后收件</th></tr>
{% for u in units %}<tr><td><a href="/admin/unit/{{ u.code }}">{{ u.code }}</a></td><td>{{ u.name }}</td><td>{{ u.department }}</td>
<td>{{ u.contact }}</td><td>{{ u.phone }}</td><td>{{ u.label }}</td><td>{{ u.step }}</td><td>{{ u.last }}</td></tr>{% endfor %}</table>
{% if not units %}<p class="muted">没有符合条件的单位。</p>{% endif %}
{% if link_note %}<p class="muted">{{ link_note }}</p>{% endif %}</section>"""

DETAIL = ISSUES + OFFICER + """<p><a href="/admin">← 报送情况</a></p>
<section><h2>{{ unit.name }}（{{ unit.code }}）{{ unit.department }}：{{ unit.label }}</h2><p>联系人 {{ unit.contact }} {{ unit.phone }}</p>
<p>当前环节：<strong>{{ unit.step }}</strong></p>
{% if unit.current and (may.pass or may.return or may.accept) %}
<p>以下决定针对收件 {{ unit.current.id }}（{{ unit.current.name }}）；其后如有新文件，决定不会执行。</p>
{% if may.pass %}<form method="post" action="/admin/unit/{{ unit.code }}/pass"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="receipt" value="{{ unit.current.id }}"><input type="submit" value="初审通过（转财政部门确认）"></form>{% endif %}
{% if may.return %}<form method="post" action="/admin/unit/{{ unit.code }}/return"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="receipt" value="{{ unit.current.id }}">
<label>退回原因 <input type="text" name="reason" size="40" required></label> <input type="submit" value="退回"></form>{% endif %}
{% if may.accept %}<form method="post" action="/admin/unit/{{ unit.code }}/accept"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="receipt" value="{{ unit.current.id }}"><input type="submit" value="确认"></form>{% endif %}{% endif %}
{% if may.waits %}<p class="muted">该单位须先经{{ unit.department }}初审通过，财政部门才能确认（可以退回）。</p>{% endif %}
{% if may.link %}<form method="post" action="/admin/unit/{{ unit.code }}/link"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="submit" value="重新生成报送链接（旧链接作废）"></form>{% endif %}
{% if new_link %}<p>新的报送链接（只显示这一次）：<code>{{ new_link }}</code></p>{% endif %}
{% if link_note %}<p class="muted">{{ link_note }}</p>{% endif %}</section>
<section><h2>记录</h2><table><tr><th>时间</th><th>事项</th></tr>{% for time, text in history %}<tr><td>{{ time }}</td><td>{{ text }}</td></tr>
{% endfor %}</table>{% if letters %}<p>审核意见：{% for name in letters %}<a href="/admin/letters/{{ name }}">{{ name }}</a>
{% endfor %}</p>{% endif %}</section>
{% for r in receipts %}<section><h2>收件 {{ r.id }}：{{ r.name }}（{{ r.time }}）</h2>{{ issue_table(r.issues) }}</section>{% endfor %}"""

PASSWORD = OFFICER + """<p><a href="/admin">← 报送情况</a></p><section><h2>更改密码：{{ actor.name }}（{{ actor.login }}）</h2>
{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}<form method="post" action="/admin/password">
<input type="hidden" name="csrf" value="{{ csrf }}">
<p><label>当前密码 <input type="password" name="current" autocomplete="current-password" required></label></p>
<p><label>新密码 <input type="password" name="new" autocomplete="new-password" minlength="8" required></label>
<span class="muted">至少 8 个字符</span></p>
<p><label>再输一次 <input type="password" name="again" autocomplete="new-password" minlength="8" required></label></p>
<p><input type="submit" value="更改密码"> <span class="muted">更改后须重新登录，本账号其他已登录的地方也会退出。</span></p></form></section>"""

ACCOUNTS = OFFICER + """<p><a href="/admin">← 报送情况</a></p><section><h2>账号</h2>
<p>审核方式：{% if two_level %}两级审核（主管部门初审，财政部门确认）{% else %}一级审核（财政部门）{% endif %}</p>
<table><tr><th>账号</th><th>姓名</th><th>角色</th><th>主管部门</th><th>状态</th><th>建立时间</th></tr>
{% for a in accounts %}<tr><td>{{ a.login }}</td><td>{{ a.name }}</td><td>{{ a.role }}</td><td>{{ a.department }}</td><td>{{ a.state }}</td>
<td>{{ a.created }}</td></tr>{% endfor %}</table>
<p class="muted">账号由管理员在命令行中管理：xlkit campaign user add / list / disable / passwd。每次变动都记入审计记录。</p></section>"""

ERROR = """<section><h2>{{ code }} {{ what }}</h2><p>{{ detail }}</p></section>"""
