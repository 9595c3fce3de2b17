//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const DATA: Section = Section {
    id: "data-over-parameters",
    heading: text!(llama.section_data_heading),
    body: text!(llama.section_data_body),
};

pub const WRITE: Section = Section {
    id: "writing",
    heading: text!(llama.section_write_heading),
    body: text!(llama.section_write_body),
};

pub const ACROSTIC: Section = Section {
    id: "acrostic",
    heading: text!(llama.section_acrostic_heading),
    body: text!(llama.section_acrostic_body),
};

pub const BLOCK: Section = Section {
    id: "inside-the-block",
    heading: text!(llama.section_block_heading),
    body: text!(llama.section_block_body),
};

pub const SCALING: Section = Section {
    id: "scaling",
    heading: text!(llama.section_scaling_heading),
    body: text!(llama.section_scaling_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 5] = [DATA, WRITE, ACROSTIC, BLOCK, SCALING];
