"""An import-linter contract for bounded contexts across layers (`lint-imports` loads it).

The code is laid out by layer, then by context (`domain/scheduling`, `commands/scheduling`,
...). import-linter's own independence contract sees one layer at a time; this one sees a
context as every module of that name in the listed layers, and keeps the contexts
independent of each other in every direction: `commands.scheduling` may import
`domain.scheduling`, never `domain.patients`. Contexts are found, not listed: every child
of a listed layer that is not named as shared or as a process is a context, so a new
context is covered without an edit. Processes may name contexts; contexts never name a
process.
"""

from __future__ import annotations

from itertools import product
from typing import Any, cast

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _strings(field: object) -> list[str]:
    """A ListField's value as import-linter hands it over: a list of strings, or None."""
    return [str(item) for item in cast("list[object]", field or [])]


class ContextsStandAlone(Contract):
    type_name = "contexts"

    layers = fields.ListField(subfield=fields.StringField())
    shared = fields.ListField(subfield=fields.StringField(), required=False)
    processes = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        layers = _strings(self.layers)
        shared = set(_strings(self.shared))
        processes = set(_strings(self.processes))
        names = {
            child.rpartition(".")[2] for layer in layers for child in graph.find_children(layer)
        }
        contexts = sorted(names - shared - processes)
        broken: list[dict[str, Any]] = []
        for (importer, imported), (upper, lower) in product(
            product([*contexts, *processes], contexts + sorted(processes)), product(layers, layers)
        ):
            if importer == imported or (importer in processes and imported in contexts):
                continue
            source, target = f"{upper}.{importer}", f"{lower}.{imported}"
            if source not in graph.modules or target not in graph.modules:
                continue
            chains = graph.find_shortest_chains(importer=source, imported=target, as_packages=True)
            if chains:
                broken.append({"from": source, "to": target, "chains": sorted(chains)})
        return ContractCheck(
            kept=not broken, warnings=[], metadata={"broken": broken, "contexts": contexts}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for found in check.metadata["broken"]:
            output.print_error(f"{found['from']} is not allowed to import {found['to']}:")
            for chain in found["chains"]:
                output.print_error(f"- {' -> '.join(chain)}", bold=False)
            output.new_line()
