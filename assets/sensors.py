"""Sensors of the code location: run-failure notification and rule-change simulation (issue 8)."""

from dagster import JobDefinition, SensorDefinition

sensors: list[SensorDefinition] = []
jobs: list[JobDefinition] = []
