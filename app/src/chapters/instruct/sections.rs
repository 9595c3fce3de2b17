//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const SFT: Section = Section {
    id: "sft",
    heading: text!(instruct.section_sft_heading),
    body: text!(instruct.section_sft_body),
};

pub const DATA: Section = Section {
    id: "self-instruct",
    heading: text!(instruct.section_data_heading),
    body: text!(instruct.section_data_body),
};

pub const CHECK: Section = Section {
    id: "verifiers",
    heading: text!(instruct.section_check_heading),
    body: text!(instruct.section_check_body),
};

pub const RESULTS: Section = Section {
    id: "results",
    heading: text!(instruct.section_results_heading),
    body: text!(instruct.section_results_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 4] = [SFT, DATA, CHECK, RESULTS];
