"""Offline checks of Sonrisa's logging pipeline (deploy/logging): no Filebeat, Logstash,
Elasticsearch or Kibana needed.

    cd /work/main && PYTHONPATH=. .venv/bin/python deploy/logging/check_pipeline.py

It checks that
- filebeat.yml parses, keeps the `sonrisa` compose project and ships to logstash:5044;
- the Logstash pipeline listens on 5044, keeps correlation_id (and trace_id) as top-level
  fields, writes sonrisa-logs-%{+YYYY.MM.dd}, and takes its credentials from environment
  variables that have no default;
- every column of the saved search "one request by correlation id" is a field of a real log
  line, written by the app's own logging set-up (infra.logs, configured as `clinic` does it)
  with a correlation id bound as the API's middleware binds it;
- the patient-data field names the pipeline drops catch name/phone/email/... and none of the
  fields the app really writes;
- the redaction patterns, taken from the pipeline itself and run with Python's re, redact a
  DNI, a NIE, an email and a Spanish phone number, and leave a real log line's ids alone.
  When `ruby` is installed, the same patterns and the pipeline's Ruby code are also checked
  with Ruby (Onigmo, the engine family Logstash's JRuby uses).
- the ILM policy deletes after 30 days and the index template attaches it.

Exits 1 with one line per failure. Uses the standard library, PyYAML and the project.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FILEBEAT = HERE / "filebeat.yml"
PIPELINE = HERE / "logstash" / "pipeline" / "sonrisa.conf"
SAVED_OBJECTS = HERE / "kibana" / "saved-objects.ndjson"
ILM_POLICY = HERE / "elasticsearch" / "ilm-policy.json"
INDEX_TEMPLATE = HERE / "elasticsearch" / "index-template.json"
CORRELATION_SEARCH = "Sonrisa: one request by correlation id"

# What must be redacted, by the kind the pipeline names it.
SAMPLES = {
    "dni": ["12345678Z", "DNI 12345678-Z del paciente"],
    "nie": ["X1234567L", "nie y-1234567-l"],
    "email": ["ana.garcia+citas@example.es"],
    "phone": ["+34 612 345 678", "612345678", "0034 912 34 56 78", "912 34 56 78"],
}
# A patient's data written where it never should be: all of it must be dropped or redacted.
LEAKY_FIELDS = {
    "name": "Ana",
    "given_name": "Ana",
    "family_name": "García",
    "phone": "612345678",
    "email": "a@b.es",
    "national_id": "12345678Z",
    "notes": "alergia",
    "address": "C/ Mayor 1",
    "text": "hola",
    "body": "hola",
}

failures: list[str] = []


def fail(message: str) -> None:
    failures.append(message)


# ---------------------------------------------------------------- a real log line


def real_log_lines() -> list[dict[str, Any]]:
    """Lines written by the app's logging, configured as `clinic` configures it (settings'
    log level and CLINIC_PROCESS_NAME), with the ids bound as the API's middleware and the bus
    consumer bind them."""
    os.environ.setdefault("CLINIC_PROCESS_NAME", "api")
    import structlog

    from infra.logs import configure_logging, get_logger
    from infra.settings import get_settings

    settings = get_settings()
    captured = io.StringIO()
    configure_logging(settings.log_level, stream=captured, process=settings.process_name)
    try:
        with structlog.contextvars.bound_contextvars(
            correlation_id="5f0c2a4e-6d1b-4b7e-9a51-0c6b1e2f3a4d",
            request_id="0b7d0e2c-55b4-4f55-8f0e-3f3a9c1d2e4b",
        ):
            get_logger("api.middleware").info(
                "request", method="GET", route="/api/patients/{patient_id}", status=200, ms=3.1
            )
        with structlog.contextvars.bound_contextvars(
            correlation_id="5f0c2a4e-6d1b-4b7e-9a51-0c6b1e2f3a4d",
            event_id="9e6a1f0b-7c2d-5e3f-8a4b-1c2d3e4f5a6b",
        ):
            get_logger("bus.consumer").warning(
                "store fault; holding the batch and trying again",
                consumer="patient_directory",
                fault="ConnectionRefusedError",
                tries=1,
            )
    finally:
        configure_logging(settings.log_level, process=settings.process_name)
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
    if len(lines) != 2:
        fail(f"the app's logging wrote {len(lines)} JSON lines, expected 2")
    return lines


# ---------------------------------------------------------------- filebeat


def check_filebeat() -> None:
    try:
        config = yaml.safe_load(FILEBEAT.read_text())
    except yaml.YAMLError as error:
        fail(f"{FILEBEAT.name} does not parse: {error}")
        return
    hosts = (config.get("output.logstash") or {}).get("hosts")
    if hosts != ["logstash:5044"]:
        fail(f"{FILEBEAT.name}: output.logstash.hosts is {hosts!r}, expected ['logstash:5044']")
    text = FILEBEAT.read_text()
    if "com_docker_compose_project: sonrisa" not in text:
        fail(f"{FILEBEAT.name} does not select the compose project `sonrisa`")
    if "/var/lib/docker/containers/" not in text or "decode_json_fields" not in text:
        fail(f"{FILEBEAT.name} must read Docker's JSON log files and decode the app's JSON")
    for other in ("output.elasticsearch", "output.console", "output.file"):
        if other in config:
            fail(f"{FILEBEAT.name}: {other} would bypass Logstash's PHI scrub")


# ---------------------------------------------------------------- logstash


def config_structure(conf: str) -> str:
    """The pipeline without its comments, strings and regex literals: what is left must nest."""
    token = re.compile(r'#[^\n]*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|(?<=~)\s*/(?:\\.|[^/\\])*/')
    return token.sub(" ", conf)


def ruby_strings(conf: str, setting: str) -> list[str]:
    """The double-quoted values of `setting => "..."` (ruby filters' init and code)."""
    return re.findall(setting + r'\s*=>\s*"((?:\\.|[^"\\])*)"', conf)


def redaction_patterns(conf: str) -> list[tuple[str, str]]:
    found = re.findall(r"\[\s*'(\w+)'\s*,\s*Regexp\.new\('((?:\\.|[^'\\])*)'\)\s*\]", conf)
    if not found:
        fail(f"{PIPELINE.name}: no redaction patterns (['kind', Regexp.new('...')]) found")
    return found


def field_pattern(conf: str) -> tuple[str, bool]:
    match = re.search(
        r"@phi_field\s*=\s*Regexp\.new\('((?:\\.|[^'\\])*)'(\s*,\s*Regexp::IGNORECASE)?\)", conf
    )
    if match is None:
        fail(f"{PIPELINE.name}: no @phi_field pattern found")
        return r"(?!x)x", False
    return match.group(1), match.group(2) is not None


def python_regex(ruby: str) -> str:
    # \A and \z are Ruby's string anchors; Python spells the end \Z.
    return ruby.replace(r"\z", r"\Z")


def redact(text: str, patterns: list[tuple[str, str]]) -> str:
    for kind, pattern in patterns:
        text = re.sub(python_regex(pattern), f"[redacted-{kind}]", text)
    return text


def check_pipeline(lines: list[dict[str, Any]]) -> None:
    conf = PIPELINE.read_text()
    structure = config_structure(conf)
    if structure.count("{") != structure.count("}") or structure.count("[") != structure.count("]"):
        fail(f"{PIPELINE.name}: unbalanced braces or brackets outside strings and regexes")
    if not re.search(r"beats\s*\{[^}]*port\s*=>\s*5044", conf):
        fail(f"{PIPELINE.name}: no beats input on port 5044")
    for name in ("correlation_id", "trace_id"):
        if name not in conf:
            fail(f"{PIPELINE.name} does not mention {name}")
    if 'index => "sonrisa-logs-%{+YYYY.MM.dd}"' not in conf:
        fail(f"{PIPELINE.name}: the index must be sonrisa-logs-%{{+YYYY.MM.dd}}")
    if re.search(r"\$\{\w+:", conf):
        fail(f"{PIPELINE.name}: an environment variable has a default (${{VAR:default}})")
    for setting in ("user", "password"):
        if not re.search(setting + r'\s*=>\s*"\$\{\w+\}"', conf):
            fail(f"{PIPELINE.name}: elasticsearch {setting} must come from an environment variable")
    if not re.search(r"match\s*=>\s*\[\s*\"timestamp\"", conf):
        fail(f"{PIPELINE.name}: @timestamp must be taken from the entry's `timestamp`")
    check_scrub(conf, lines)


def check_scrub(conf: str, lines: list[dict[str, Any]]) -> None:
    patterns = redaction_patterns(conf)
    kinds = {kind for kind, _ in patterns}
    for kind, samples in SAMPLES.items():
        if kind not in kinds:
            fail(f"{PIPELINE.name}: no redaction pattern for {kind}")
        for sample in samples:
            text = f"booked for {sample} today"
            redacted = redact(text, patterns)
            leftovers = re.findall(r"[0-9]{3,}|@", redacted)
            if f"[redacted-{kind}]" not in redacted or leftovers:
                fail(f"{kind} {sample!r} is not redacted: {text!r} -> {redacted!r}")
    for line in lines:
        for key, value in line.items():
            if isinstance(value, str) and redact(value, patterns) != value:
                fail(f"a real log line's {key}={value!r} would be redacted: a false positive")

    pattern, ignore_case = field_pattern(conf)
    phi_field = re.compile(python_regex(pattern), re.IGNORECASE if ignore_case else 0)
    for name in LEAKY_FIELDS:
        if not phi_field.search(name):
            fail(f"{PIPELINE.name}: a field named {name!r} would not be dropped")
    for line in lines:
        for key in line:
            if phi_field.search(key):
                fail(f"{PIPELINE.name} would drop {key!r}, a field the app really writes")
    check_with_ruby(conf, patterns)


def run(command: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Ruby, found on PATH, on files this script wrote: no untrusted input."""
    return subprocess.run(  # noqa: S603
        command, input=stdin, capture_output=True, text=True, check=False
    )


def check_with_ruby(conf: str, patterns: list[tuple[str, str]]) -> None:
    """Ruby's own reading of the patterns and of the ruby filters' code, when it is here."""
    ruby = shutil.which("ruby")
    if ruby is None:
        print("note: ruby is not installed; the patterns were checked with Python's re only")
        return
    blocks = ruby_strings(conf, "init") + ruby_strings(conf, "code")
    with tempfile.TemporaryDirectory() as folder:
        for number, block in enumerate(blocks):
            source = Path(folder, f"block{number}.rb")
            # As the ruby filter runs it: inside a method of the filter's instance.
            source.write_text(f"def sonrisa_block\n{block}\nend\n")
            checked = run([ruby, "-c", str(source)])
            if checked.returncode != 0:
                problem = checked.stderr.strip()
                fail(f"{PIPELINE.name}: ruby block {number} does not compile: {problem}")
        script = Path(folder, "redact.rb")
        script.write_text(
            "require 'json'\n"
            "patterns = JSON.parse(ARGV[0]).map { |k, p| [k, Regexp.new(p)] }\n"
            "STDIN.each_line do |line|\n"
            "  text = JSON.parse(line)\n"
            "  out = patterns.reduce(text) { |t, (k, p)| t.gsub(p, '[redacted-' + k + ']') }\n"
            "  puts JSON.generate(out)\n"
            "end\n"
        )
        run_filters_with_ruby(ruby, Path(folder), conf)
        texts = [f"booked for {s} today" for samples in SAMPLES.values() for s in samples]
        done = run(
            [ruby, str(script), json.dumps(patterns)], "".join(json.dumps(t) + "\n" for t in texts)
        )
        if done.returncode != 0:
            fail(f"ruby could not run the redaction patterns: {done.stderr.strip()}")
            return
        for text, out in zip(texts, done.stdout.splitlines(), strict=False):
            by_ruby, by_python = json.loads(out), redact(text, patterns)
            if by_ruby != by_python:
                fail(f"Ruby and Python redact {text!r} differently: {by_ruby!r} vs {by_python!r}")


FAKE_LOGSTASH = """
require 'json'
# Just enough of Logstash's Event for the pipeline's ruby filters: field references
# ('name' or '[a][b]'), tags.
class FakeEvent
  def initialize(data); @data = data; end
  def keys_of(ref); found = ref.scan(/\\[([^\\]]+)\\]/).flatten; found.empty? ? [ref] : found; end
  def get(ref); keys_of(ref).reduce(@data) { |o, k| o.is_a?(Hash) ? o[k] : nil }; end
  def set(ref, value)
    *path, last = keys_of(ref)
    path.reduce(@data) { |o, k| o[k] ||= {} }[last] = value
  end
  def remove(ref)
    *path, last = keys_of(ref)
    holder = path.reduce(@data) { |o, k| o.is_a?(Hash) ? o[k] : nil }
    holder.delete(last) if holder.is_a?(Hash)
  end
  def tag(name)
    tags = (@data['tags'] ||= [])
    tags << name unless tags.include?(name)
  end
  def to_h; @data; end
end
class FakeRubyFilter
  def initialize(init, code); eval(init); @code = code; end
  def filter(event); eval(@code); end
end
blocks = JSON.parse(File.read(ARGV[0]))
filters = blocks.map { |init, code| FakeRubyFilter.new(init, code) }
STDIN.each_line do |line|
  event = FakeEvent.new(JSON.parse(line))
  filters.each { |f| f.filter(event) }
  puts JSON.generate(event.to_h)
end
"""


def run_filters_with_ruby(ruby: str, folder: Path, conf: str) -> None:
    """The pipeline's own ruby filters, in order, on a real log line as Filebeat ships it
    (decoded under [sonrisa]), with and without patient data wrongly added to it."""
    inits, codes = ruby_strings(conf, "init"), ruby_strings(conf, "code")
    Path(folder, "filters.json").write_text(json.dumps(list(zip(inits, codes, strict=True))))
    Path(folder, "fake.rb").write_text(FAKE_LOGSTASH)
    line = REAL_LINES[0]
    leaky = {**line, **LEAKY_FIELDS, "patient": {"name": "Ana", "id": "p-1"}}
    leaky["event"] = "booked for ana@example.es, 612 345 678"
    shipped = [
        {"message": json.dumps(line), "sonrisa": line, "container": {"name": "sonrisa-api-1"}},
        {"message": json.dumps(leaky), "sonrisa": leaky, "container": {"name": "sonrisa-api-1"}},
    ]
    done = run(
        [ruby, str(folder / "fake.rb"), str(folder / "filters.json")],
        "".join(json.dumps(s) + "\n" for s in shipped),
    )
    if done.returncode != 0:
        fail(f"the pipeline's ruby filters fail on a real log line: {done.stderr.strip()[-800:]}")
        return
    clean, scrubbed = (json.loads(out) for out in done.stdout.splitlines())
    for key, value in line.items():
        if clean.get(key) != value:
            fail(f"ruby filters: {key} of a clean line is {clean.get(key)!r}, not {value!r}")
    if "phi_redacted" in clean.get("tags", []) or "message" in clean or "sonrisa" in clean:
        fail(f"ruby filters: a clean line comes out as {clean!r}")
    # What the app wrote (the shipper's own metadata and the list of dropped names aside).
    kept = {k: v for k, v in scrubbed.items() if k not in ("container", "phi_dropped_fields")}
    text = json.dumps(kept, ensure_ascii=False)
    for name, value in LEAKY_FIELDS.items():
        if f'"{name}"' in text or f'"{value}"' in text:
            fail(f"ruby filters: {name}={value!r} survives: {scrubbed!r}")
    if sorted(scrubbed.get("phi_dropped_fields", [])) != sorted(LEAKY_FIELDS):
        fail(f"ruby filters: phi_dropped_fields is {scrubbed.get('phi_dropped_fields')!r}")
    for leaked in ("ana@example.es", "612 345 678", '"Ana"'):
        if leaked in text:
            fail(f"ruby filters: {leaked} survives: {scrubbed!r}")
    if "phi_redacted" not in scrubbed.get("tags", []):
        fail("ruby filters: an entry with patient data is not tagged phi_redacted")
    if scrubbed.get("correlation_id") != line["correlation_id"]:
        fail("ruby filters: correlation_id is not a top-level field after the scrub")


# ---------------------------------------------------------------- kibana and elasticsearch


def check_saved_objects(lines: list[dict[str, Any]]) -> None:
    objects = []
    for number, line in enumerate(SAVED_OBJECTS.read_text().splitlines(), 1):
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as error:
            fail(f"{SAVED_OBJECTS.name} line {number} is not JSON: {error}")
    views = {o["id"]: o for o in objects if o.get("type") == "index-pattern"}
    if not any(v["attributes"].get("title") == "sonrisa-logs-*" for v in views.values()):
        fail(f"{SAVED_OBJECTS.name}: no data view for sonrisa-logs-*")
    fields = set().union(*(line.keys() for line in lines)) - {"timestamp"} | {"@timestamp"}
    added = set(re.findall(r"event\.set\('(\w+)'", PIPELINE.read_text()))
    searches = {o["attributes"]["title"]: o for o in objects if o.get("type") == "search"}
    if CORRELATION_SEARCH not in searches:
        fail(f"{SAVED_OBJECTS.name}: no saved search {CORRELATION_SEARCH!r}")
    for title, search in searches.items():
        attributes = search["attributes"]
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref = source.get("indexRefName")
        if not any(r["name"] == ref and r["id"] in views for r in search.get("references", [])):
            fail(f"saved search {title!r} does not reference the data view")
        if attributes.get("sort", [[None]])[0][0] != "@timestamp":
            fail(f"saved search {title!r} is not sorted by @timestamp")
        known = fields if title == CORRELATION_SEARCH else fields | added
        for column in attributes.get("columns", []):
            if column not in known:
                fail(f"saved search {title!r} shows {column!r}, which no real log line carries")
    check_correlation_search(searches.get(CORRELATION_SEARCH))


def check_correlation_search(correlation: dict[str, Any] | None) -> None:
    if correlation is not None:
        source = json.loads(correlation["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        if source["query"]["query"] != 'correlation_id:"<paste id>"':
            fail(f'{CORRELATION_SEARCH!r}: the query must be correlation_id:"<paste id>"')
        columns = correlation["attributes"].get("columns", [])
        for needed in ("level", "process", "event", "correlation_id"):
            if needed not in columns:
                fail(f"{CORRELATION_SEARCH!r} does not show {needed}")


def check_retention() -> None:
    policy = json.loads(ILM_POLICY.read_text())
    delete = policy["policy"]["phases"].get("delete", {})
    if delete.get("min_age") != "30d" or "delete" not in delete.get("actions", {}):
        fail(f"{ILM_POLICY.name}: logs must be deleted after 30 days")
    template = json.loads(INDEX_TEMPLATE.read_text())
    if template.get("index_patterns") != ["sonrisa-logs-*"]:
        fail(f"{INDEX_TEMPLATE.name} must apply to sonrisa-logs-*")
    if template["template"]["settings"].get("index.lifecycle.name") != "sonrisa-logs":
        fail(f"{INDEX_TEMPLATE.name} must attach the ILM policy sonrisa-logs")
    mapped = template["template"]["mappings"]["properties"].get("correlation_id", {})
    if mapped.get("type") != "keyword":
        fail(f"{INDEX_TEMPLATE.name}: correlation_id must be a keyword (exact match)")


REAL_LINES: list[dict[str, Any]] = []


def main() -> int:
    lines = real_log_lines()
    REAL_LINES.extend(lines)
    check_filebeat()
    check_pipeline(lines)
    check_saved_objects(lines)
    check_retention()
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    fields = sorted(set().union(*(line.keys() for line in lines)))
    print(f"logging pipeline OK (a real log line's fields: {', '.join(fields)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
