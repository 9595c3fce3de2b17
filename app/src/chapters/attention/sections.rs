//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const WHY: Section = Section {
    id: "why-kv",
    heading: text!(attention.section_why_kv_heading),
    body: text!(attention.section_why_kv_body),
};

pub const LIVE: Section = Section {
    id: "kv-live",
    heading: text!(attention.section_live_heading),
    body: text!(attention.section_live_body),
};

pub const MEMORY: Section = Section {
    id: "cache-memory",
    heading: text!(attention.section_memory_heading),
    body: text!(attention.section_memory_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 3] = [WHY, LIVE, MEMORY];
