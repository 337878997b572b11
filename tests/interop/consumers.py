"""Independent readers of mxdoctor's JUnit and Nagios outputs, for the interop suite (clients.sh).

Run with Debian's /usr/bin/python3: junitparser (python3-junitparser) reads the JUnit XML the way
Python CI tooling does, pynag (python3-pynag) parses Nagios plugin perfdata per the plugin development
guidelines ('label'=value[UOM];[warn];[crit];[min];[max]) and nagiosplugin (python3-nagiosplugin)
parses the warn/crit range syntax; the units allowed are the guidelines' list. Each subcommand compares what
the consumer read with the JSON report of the same run, prints one summary line, exits 1 on a mismatch.

  consumers.py junit REPORT.xml REPORT.json|-      (-: no JSON to compare; print the failed testcases)
  consumers.py nagios STDOUT EXIT_CODE REPORT.json
  consumers.py nagios-status STATUS.DAT SERVICE STDOUT EXIT_CODE
                                                   (what Nagios Core stored for SERVICE equals what
                                                    mxdoctor printed and exited with in a direct run)
  consumers.py ci-steps docs/ci.md                 (python3-yaml parses each CI job; prints its
                                                    `mxdoctor check` commands as "SYSTEM<TAB>COMMAND")
"""

import json
import re
import sys

STATUS_BY_EXIT = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
# Units of measurement the plugin development guidelines define (none means a plain number).
GUIDELINE_UNITS = {"", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"}
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def fail(message):
    print(message)
    sys.exit(1)


def load_report(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def junit(xml_path, json_path):
    from junitparser import Error, Failure, JUnitXml, Skipped

    report = load_report(json_path) if json_path != "-" else None
    document = JUnitXml.fromfile(xml_path)
    cases = []
    for suite in document:
        for case in suite:
            results = case.result if isinstance(case.result, list) else [case.result]
            kinds = {type(r) for r in results if r is not None}
            cases.append((suite.name, case.name, case.classname, kinds))
    if not cases:
        fail(f"{xml_path}: junitparser found no testcase")
    failed = sorted({name for _, name, _, kinds in cases if Failure in kinds})
    errors = [name for _, name, _, kinds in cases if Error in kinds]
    skipped = [name for _, name, _, kinds in cases if Skipped in kinds]
    if report is not None:
        problems = sorted({f["playbook"] for f in report["findings"] if f["severity"] != "info"})
        if failed != problems:
            fail(f"{xml_path}: failed testcases {failed} != findings above info {problems}")
        if (report["status"] == "unknown") != bool(errors):
            fail(f"{xml_path}: status {report['status']} but error testcases {errors}")
    if skipped:
        fail(f"{xml_path}: unexpected skipped testcases {skipped}")
    # The totals CI systems display come from the root's attributes (as written, not recomputed by
    # junitparser's update_statistics); they must agree with the testcases.
    declared = (document.tests, document.failures, document.errors)
    counted = (len(cases), sum(Failure in k for *_, k in cases), len(errors))
    if declared != counted:
        fail(f"{xml_path}: tests/failures/errors attributes {declared} != testcases {counted}")
    bad_class = [c for _, _, c, _ in cases if not (c or "").startswith("mxdoctor.")]
    if bad_class:
        fail(f"{xml_path}: testcases without an mxdoctor.AREA classname: {bad_class}")
    print(f"{len(cases)} testcases in {len(document)} suites, failed {failed}, errors {len(errors)}")


# The status line: "SERVICE STATUS - text"; perfdata after the first "|".
STATUS_LINE = re.compile(r"^(?P<service>[A-Z][A-Z0-9_]*) (?P<status>OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|]+?)\s*(\|(?P<perf>.*))?$")


def nagios(stdout_path, exit_code, json_path):
    from nagiosplugin import Range
    from pynag.Utils import PerfData

    report = load_report(json_path)
    exit_code = int(exit_code)
    if exit_code not in STATUS_BY_EXIT:
        fail(f"exit code {exit_code} is not a plugin state (0-3)")
    with open(stdout_path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if not lines:
        fail("no plugin output")
    match = STATUS_LINE.match(lines[0])
    if not match:
        fail(f"first line is not 'SERVICE STATUS - text | perfdata': {lines[0]!r}")
    if match["status"] != STATUS_BY_EXIT[exit_code]:
        fail(f"status word {match['status']} but exit code {exit_code}")
    if match["status"].lower() != report["status"]:
        fail(f"status word {match['status']} but the JSON report says {report['status']}")
    long_output = lines[1:]
    if len(long_output) != len(report["findings"]):
        fail(f"{len(long_output)} long-output lines for {len(report['findings'])} findings")
    if any("|" in line for line in long_output):
        fail("a long-output line contains '|', which would start perfdata")
    perf = PerfData(match["perf"] or "")
    if not perf.metrics:
        fail(f"pynag parsed no perfdata from {match['perf']!r}")
    invalid = [str(m) for m in perf.metrics if not m.is_valid()]
    if invalid:
        fail(f"pynag rejects perfdata metrics {invalid}")
    # pynag accepts any unit and threshold text; the guidelines are stricter.
    bad_unit = [m.label for m in perf.metrics if m.uom not in GUIDELINE_UNITS]
    if bad_unit:
        fail(f"perfdata units outside the guidelines' list: {bad_unit}")
    for metric in perf.metrics:
        for name in ("warn", "crit"):
            spec = getattr(metric, name) or ""
            if spec:
                try:
                    Range(spec)
                except ValueError as error:
                    fail(f"{metric.label}: {name} {spec!r} is no range: {error}")
        for name in ("min", "max"):
            bound = getattr(metric, name) or ""
            if bound and not NUMBER.fullmatch(bound):
                fail(f"{metric.label}: {name} {bound!r} is not a number")
    by_label = {m.label: m for m in perf.metrics}
    if len(by_label) != len(perf.metrics):
        fail("a perfdata label appears twice")
    findings = by_label.get("findings")
    if findings is None or float(findings.value) != len(report["findings"]):
        fail(f"perfdata findings={getattr(findings, 'value', None)} but {len(report['findings'])} findings")
    latencies = [m for m in perf.metrics if m.label.startswith("latency_")]
    wrong_unit = [m.label for m in latencies if m.uom != "s" or float(m.min) != 0.0]
    if wrong_unit:
        fail(f"latency metrics without unit s and min 0: {wrong_unit}")
    print(f"{match['status']} (exit {exit_code}), {len(perf.metrics)} perfdata metrics valid for pynag "
          f"({len(latencies)} latencies in s), {len(long_output)} long-output lines")


def nagios_status(status_path, service, stdout_path, exit_code):
    from pynag.Utils import PerfData

    blocks = []
    with open(status_path, encoding="utf-8") as handle:
        for block in re.findall(r"^servicestatus \{\n(.*?)^\s*\}", handle.read(), re.S | re.M):
            fields = dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)
            blocks.append(fields)
    mine = [b for b in blocks if b.get("service_description") == service]
    if len(mine) != 1 or mine[0].get("has_been_checked") != "1":
        fail(f"Nagios has no checked service {service!r} in {status_path}")
    stored = mine[0]
    with open(stdout_path, encoding="utf-8") as handle:
        printed = handle.read().splitlines()
    first, _, perf = printed[0].partition("|")
    if stored["current_state"] != str(int(exit_code)):
        fail(f"Nagios state {stored['current_state']} ({stored['plugin_output']!r}) but mxdoctor exits {exit_code}")
    if stored["plugin_output"] != first.strip():
        fail(f"Nagios plugin_output {stored['plugin_output']!r} != {first.strip()!r}")
    # status.dat writes the long output's newlines as a backslash and n.
    long_output = stored.get("long_plugin_output", "").split("\\n") if stored.get("long_plugin_output") else []
    if long_output != printed[1:]:
        fail(f"Nagios long_plugin_output {long_output} != {printed[1:]}")
    stored_labels = sorted(m.label for m in PerfData(stored.get("performance_data", "")).metrics)
    printed_labels = sorted(m.label for m in PerfData(perf).metrics)
    if not stored_labels or stored_labels != printed_labels:
        fail(f"Nagios performance_data labels {stored_labels} != {printed_labels}")
    print(f"state {stored['current_state']}, {len(long_output)} long-output lines, {len(stored_labels)} perfdata labels")


def ci_steps(markdown_path):
    import yaml

    with open(markdown_path, encoding="utf-8") as handle:
        blocks = re.findall(r"^```yaml\n(.*?)^```", handle.read(), re.S | re.M)
    found = []
    for block in blocks:
        document = yaml.safe_load(block)
        if "jobs" in document:  # GitHub Actions: jobs.ID.steps[].run
            if "on" not in document and True not in document:  # YAML 1.1 reads a bare `on` as true
                fail("GitHub workflow without `on`")
            for job in document["jobs"].values():
                for step in job["steps"]:
                    if "run" not in step and "uses" not in step:
                        fail(f"GitHub step with neither run nor uses: {step}")
                    found += [("github", line) for line in step.get("run", "").splitlines()]
        else:  # GitLab CI: JOB.script[]
            for job in document.values():
                if not isinstance(job, dict) or "script" not in job:
                    fail(f"GitLab job without script: {job}")
                found += [("gitlab", line) for line in job["script"]]
    commands = [(system, line) for system, line in found if line.startswith("mxdoctor check ")]
    if {system for system, _ in commands} != {"github", "gitlab"}:
        fail(f"expected a `mxdoctor check` step in a GitHub and a GitLab job, found {commands}")
    for system, line in commands:
        print(f"{system}\t{line}")


if __name__ == "__main__":
    commands = {"junit": (junit, 2), "nagios": (nagios, 3), "nagios-status": (nagios_status, 4), "ci-steps": (ci_steps, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        fail(__doc__)
    command, _ = commands[sys.argv[1]]
    command(*sys.argv[2:])
