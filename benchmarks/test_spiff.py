"""Row 2: rukun against SpiffWorkflow 3 on the same linear process of 6 and of 20 steps,
each step persisted, each step a call of its own as a service makes it (rukun's ``fire``
reads the case from the database every time). SpiffWorkflow's step: read the stored
workflow, deserialise it with ``BpmnWorkflowSerializer``, complete the ready user task, run
the engine steps, serialise the whole workflow and store it with a history row, one commit.
Rukun's: one ``fire``. Only the steps are timed on both sides (starting an instance or a
case is not)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)

from benchmarks.databases import ACTOR, bench_app
from benchmarks.seeding import seed_cases
from benchmarks.sizes import SIZES
from benchmarks.table import ROWS, Row, Target, paired, rate
from benchmarks.workflows import linear_bpmn, linear_yaml
from engine.runtime import Rukun
from engine.store.models import UTCDateTime, utcnow

LENGTHS = {6: 2.0, 20: 3.0}  # steps: target ratio

SPIFF = MetaData()
WORKFLOWS = Table(
    "spiff_workflows",
    SPIFF,
    Column("id", Integer, primary_key=True),
    Column("serialization", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
STEPS = Table(
    "spiff_steps",
    SPIFF,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, nullable=False, index=True),
    Column("task", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)


class SpiffRunner:
    """Runs instances of a linear BPMN process to the end, persisting after every step."""

    def __init__(self, app: Rukun, steps: int) -> None:
        parser = BpmnParser()
        parser.add_bpmn_str(linear_bpmn(steps).encode())
        self.spec = parser.get_spec("linear")
        self.serializer = BpmnWorkflowSerializer()
        self.engine = app.engine
        self.load = select(WORKFLOWS.c.serialization).where(
            WORKFLOWS.c.id == bindparam("workflow_id")
        )
        self.save = (
            update(WORKFLOWS)
            .where(WORKFLOWS.c.id == bindparam("workflow_id"))
            .values(serialization=bindparam("data"), updated_at=bindparam("at"))
        )
        self.log = insert(STEPS)

    def run(self, instances: int) -> float:
        """Seconds spent in the steps of ``instances`` new instances run to the end."""
        spent = 0.0
        for _ in range(instances):
            workflow = BpmnWorkflow(self.spec)
            workflow.do_engine_steps()
            with self._connect() as connection, connection.begin():
                key = connection.execute(
                    insert(WORKFLOWS).values(
                        serialization=self.serializer.serialize_json(workflow),
                        updated_at=utcnow(),
                    )
                ).inserted_primary_key
            assert key is not None
            started = time.perf_counter()
            while self._step(key[0]):
                pass
            spent += time.perf_counter() - started
        return spent

    def _connect(self) -> Any:
        return self.engine.connect().execution_options(rukun_write=True)

    def _step(self, workflow_id: int) -> bool:
        """Run the instance's next ready task as one call: read and deserialise the stored
        workflow, run the task and the engine steps, store the workflow and a history row;
        False when nothing was ready (the instance has completed)."""
        with self._connect() as connection, connection.begin():
            stored = connection.execute(self.load, {"workflow_id": workflow_id}).scalar_one()
            workflow = self.serializer.deserialize_json(stored)
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            if task is None:
                assert workflow.is_completed()
                return False
            task.run()
            workflow.do_engine_steps()
            data = self.serializer.serialize_json(workflow)
            at = utcnow()
            connection.execute(self.save, {"workflow_id": workflow_id, "data": data, "at": at})
            connection.execute(
                self.log, {"workflow_id": workflow_id, "task": task.task_spec.name, "at": at}
            )
        return True


@pytest.fixture(scope="module")
def app(backend: str, folder: Path) -> Iterator[Rukun]:
    with bench_app(backend, "spiff", folder) as rukun:
        for steps in LENGTHS:
            rukun.definitions.publish_text(linear_yaml(steps), f"linear{steps}.yaml", "bench")
        SPIFF.create_all(rukun.engine)
        yield rukun


@pytest.mark.parametrize("steps", list(LENGTHS))
def test_fire_against_spiffworkflow(app: Rukun, backend: str, steps: int) -> None:
    spiff = SpiffRunner(app, steps)
    instances = SIZES.spiff_instances
    cases = seed_cases(app, f"linear{steps}", (SIZES.rounds + 1) * instances)
    groups = [cases[i * instances : (i + 1) * instances] for i in range(SIZES.rounds + 1)]

    def through(n: int) -> None:
        for case_id in groups[n]:
            for step in range(steps):
                app.cases.fire(case_id, f"t{step}", ACTOR)

    through(SIZES.rounds)  # caches warm on both sides
    spiff.run(1)
    engine, floor = paired(through, lambda _: spiff.run(instances), SIZES.rounds)
    count = instances * steps
    ROWS.append(
        Row(
            backend,
            2,
            f"fire vs SpiffWorkflow 3, linear {steps} steps",
            rate(count, engine, "steps"),
            rate(count, floor, "steps"),
            floor / engine,
            Target(LENGTHS[steps]),
        )
    )
