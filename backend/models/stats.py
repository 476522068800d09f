"""Pre-aggregated statistics [统计中心]: counters kept current as audited events happen.

One row counts the operation-log entries of one action (``metric``) and result on one Beijing
day (``span`` d) or calendar month (``span`` m, ``day`` = its first day), for one roll-up
(``grain``) of the dimensions: ``all`` (the tenant), ``unit``, ``seal`` (with its unit),
``template`` (the whole tenant) and ``unit_template``. Every entry bumps the roll-ups it has
dimensions for, so a query reads only the rows of the roll-up it needs, a year in twelve month
rows each. A dimension the roll-up does not have is ``*``, an unknown unit an empty string.
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ALL = "*"


class StatCounter(Model):
    """Count and duration sum of audited actions per Beijing day and dimension roll-up."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField()
    grain = fields.CharField(max_length=16,
                             description="all | unit | seal | template | unit_template")
    span = fields.CharField(max_length=1, default="d",
                            description="d = the day, m = the month starting on day")
    day = fields.DateField(description="Beijing-time day (or first day of the month)")
    metric = fields.CharField(max_length=100, description="the audited action, e.g. seal.use")
    result = fields.CharField(max_length=32, default="ok")
    variant = fields.CharField(max_length=32, default="",
                               description="sub-kind of the metric, e.g. a message channel")
    unit_ref = fields.CharField(max_length=64, default="*",
                                description="unit id or business id, * = all, empty = unknown")
    seal_ref = fields.CharField(max_length=64, default="*", description="seal id, * = all")
    template_ref = fields.CharField(max_length=64, default="*",
                                    description="template code, * = all")
    count = fields.BigIntField(default=0)
    duration_count = fields.BigIntField(default=0,
                                        description="entries that carried a duration")
    duration_sum = fields.FloatField(default=0, description="sum of their durations in seconds")

    class Meta:
        table = "stat_counter"
        unique_together = (("tenant_id", "grain", "span", "day", "metric", "result", "variant",
                            "unit_ref", "seal_ref", "template_ref"),)
        #: Year-long reads of one unit (and its sub-units) per span.
        indexes = (("tenant_id", "grain", "unit_ref", "span", "day"),)
