//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const RULES: Section = Section {
    id: "rules",
    heading: text!(align.section_rules_heading),
    body: text!(align.section_rules_body),
};

pub const ROUTES: Section = Section {
    id: "rlhf-and-dpo",
    heading: text!(align.section_routes_heading),
    body: text!(align.section_routes_body),
};

pub const FRONTIER: Section = Section {
    id: "frontier",
    heading: text!(align.section_frontier_heading),
    body: text!(align.section_frontier_body),
};

pub const PROXY: Section = Section {
    id: "reward-hacking",
    heading: text!(align.section_proxy_heading),
    body: text!(align.section_proxy_body),
};

pub const LABEL: Section = Section {
    id: "labeller",
    heading: text!(align.section_label_heading),
    body: text!(align.section_label_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 5] = [RULES, ROUTES, FRONTIER, PROXY, LABEL];
