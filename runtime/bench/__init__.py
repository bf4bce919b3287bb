"""Benchmarks behind `facecast bench`: each module measures one stage against the budget in
DESIGN.md ("Performance budget") and returns a JSON-ready dict; none of them asserts."""
