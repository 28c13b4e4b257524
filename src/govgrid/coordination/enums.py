"""Closed sets of coordination (统筹), with one transition table per lifecycle.

Lifecycles:
- a task's assignment to one division (任务分解): assigned -> in_progress (first progress report) -> done
  (the division reports it finished; a measure-backed task only when its measure meets the target) or
  cancelled by the assigning level; done -> in_progress when the assigning level sends it back (退回);
- a software system (软件系统): planned -> operating -> retired; planned -> retired (dropped, e.g. after the
  duplication check);
- a compute job (算力作业): placed -> finished | failed; refused is final from the start.
"""

from __future__ import annotations

from enum import StrEnum

from govgrid.core.lifecycle import Lifecycle


class AssignmentState(StrEnum):
    """Where one division's part of a task stands."""

    assigned = "assigned"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


ASSIGNMENT = Lifecycle(
    AssignmentState,
    {
        AssignmentState.assigned: {
            AssignmentState.in_progress,
            AssignmentState.done,
            AssignmentState.cancelled,
        },
        AssignmentState.in_progress: {
            AssignmentState.in_progress,
            AssignmentState.done,
            AssignmentState.cancelled,
        },
        AssignmentState.done: {AssignmentState.in_progress},
    },
    name="任务分解",
)
OPEN_ASSIGNMENT = (AssignmentState.assigned, AssignmentState.in_progress)


class Colour(StrEnum):
    """三色督查单 (三明, 2017): blue reminder -> orange warning with a deadline -> red escalation upward."""

    none = "none"
    blue = "blue"  # 蓝色提醒: the deadline is near and the task is not done
    orange = "orange"  # 橙色预警: overdue, a short extra deadline is set
    red = "red"  # 红色督办: overdue past the warning: escalated to the level above the assigning level


# Days before the deadline when a blue reminder goes out; days overdue before orange turns red.
BLUE_DAYS = 7
ORANGE_DAYS = 7


class Better(StrEnum):
    """Which way a measure improves."""

    more = "higher"  # e.g. an on-time rate
    less = "lower"  # e.g. approval hours (`lower` would shadow str.lower)


class AssetKind(StrEnum):
    """硬件设施 kinds."""

    machine_room = "machine_room"  # 机房
    server = "server"  # 服务器
    video_conference = "video_conference"  # 视频会议室
    command_hall = "command_hall"  # 指挥大厅
    big_screen = "big_screen"  # 大屏


class SystemKind(StrEnum):
    """软件系统 kinds (what the duplication check compares)."""

    data_platform = "data_platform"  # 数据共享交换平台
    service_portal = "service_portal"  # 政务服务平台
    appeals_hotline = "appeals_hotline"  # 12345 热线系统
    city_management = "city_management"  # 城市管理平台
    video_conference = "video_conference"  # 视频会议系统
    office_automation = "office_automation"  # 协同办公
    gis_platform = "gis_platform"  # 地理信息平台


class SystemState(StrEnum):
    """Where a software system stands."""

    planned = "planned"
    operating = "operating"
    retired = "retired"


SYSTEM = Lifecycle(
    SystemState,
    {
        SystemState.planned: {SystemState.operating, SystemState.retired},
        SystemState.operating: {SystemState.retired},
    },
    name="软件系统",
)


class JobState(StrEnum):
    """Where a compute job stands."""

    placed = "placed"
    finished = "finished"
    failed = "failed"
    refused = "refused"


JOB = Lifecycle(
    JobState,
    {JobState.placed: {JobState.finished, JobState.failed}},
    name="算力作业",
)
