"""axe-core (from the npm registry, see package.json) run inside Chromium."""

from pathlib import Path

import pytest

from tests.conftest import IN_CI

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


def axe_source() -> str:
    if not AXE_JS.exists():
        if IN_CI:
            pytest.exit(f"CI requires axe-core at {AXE_JS} (make axe)", returncode=3)
        pytest.skip("axe-core is not installed (make axe)")
    return AXE_JS.read_text()


def serious_violations(page, rules: tuple[str, ...] | None = None) -> list[dict]:
    """Run axe on the page (only `rules`, if given) and return its serious and critical
    violations."""
    # Evaluated through the DevTools protocol, so the page's CSP (no inline
    # script) does not stop it and need not be loosened; once per page loaded.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    options = {"resultTypes": ["violations"]}
    if rules is not None:
        options["runOnly"] = {"type": "rule", "values": list(rules)}
    result = page.evaluate("async (options) => await axe.run(document, options)", options)
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
