//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const CHAIN_RULE: Section = Section {
    id: "chain-rule",
    heading: text!(autoregressive.section_chain_rule_heading),
    body: text!(autoregressive.section_chain_rule_body),
};

pub const MODELS: Section = Section {
    id: "models",
    heading: text!(autoregressive.section_models_heading),
    body: text!(autoregressive.section_models_body),
};

pub const RECEPTIVE: Section = Section {
    id: "receptive",
    heading: text!(autoregressive.section_receptive_heading),
    body: text!(autoregressive.section_receptive_body),
};

pub const TEACHER_FORCING: Section = Section {
    id: "teacher-forcing",
    heading: text!(autoregressive.section_teacher_forcing_heading),
    body: text!(autoregressive.section_teacher_forcing_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 4] = [CHAIN_RULE, MODELS, RECEPTIVE, TEACHER_FORCING];
