//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const IDEA: Section = Section {
    id: "low-rank",
    heading: text!(lora.section_idea_heading),
    body: text!(lora.section_idea_body),
};

pub const TRAIN: Section = Section {
    id: "backward",
    heading: text!(lora.section_train_heading),
    body: text!(lora.section_train_body),
};

pub const COMPARE: Section = Section {
    id: "before-after",
    heading: text!(lora.section_compare_heading),
    body: text!(lora.section_compare_body),
};

pub const RANK: Section = Section {
    id: "rank",
    heading: text!(lora.section_rank_heading),
    body: text!(lora.section_rank_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 4] = [IDEA, TRAIN, COMPARE, RANK];
