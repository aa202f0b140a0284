//! The Chinese of the exports: sheet names, column headers and the words for
//! levels, states and sources — the sheets a township clerk hands up the line.

/// Sheet name and column headers of each export.
pub const TASKS: (&str, &[&str]) = (
    "清单事项",
    &[
        "乡镇",
        "村",
        "服务团",
        "周",
        "编号",
        "事项",
        "等级",
        "负责人",
        "截止",
        "状态",
        "来源",
        "完成时间",
        "成效",
        "取消原因",
    ],
);
pub const SERVICES: (&str, &[&str]) = (
    "服务记录",
    &[
        "乡镇",
        "村",
        "服务团",
        "周",
        "时间",
        "团员",
        "关联事项",
        "服务内容",
    ],
);
pub const VISITS: (&str, &[&str]) = (
    "走访记录",
    &[
        "乡镇",
        "村",
        "服务团",
        "周",
        "时间",
        "团员",
        "农户",
        "已登记农户",
        "走访情况",
    ],
);
pub const RATINGS: (&str, &[&str]) = (
    "群众评价",
    &[
        "乡镇",
        "村",
        "服务团",
        "周",
        "时间",
        "评价人",
        "评分",
        "评价内容",
    ],
);
pub const WEEKLY_SUMMARY: (&str, &[&str]) = (
    "每周汇总",
    &[
        "乡镇",
        "村",
        "服务团",
        "周",
        "清单事项",
        "已完成",
        "按时完成",
        "完成率",
        "服务次数",
        "走访户次",
        "群众诉求",
        "评价人数",
        "平均评分",
    ],
);

/// 开放 / 已完成 / 已取消 for a task state as stored.
pub fn task_state(state: &str) -> &str {
    match state {
        "open" => "进行中",
        "closed" => "已完成",
        "cancelled" => "已取消",
        other => other,
    }
}

/// 排清单 / 加清单 / 群众诉求 for a task source as stored.
pub fn task_source(source: &str) -> &str {
    match source {
        "plan" => "排清单",
        "add" => "加清单",
        "request" => "群众诉求",
        other => other,
    }
}

/// 是 / 否.
pub fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}
