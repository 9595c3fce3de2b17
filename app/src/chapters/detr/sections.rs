//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const SET: Section = Section {
    id: "set-prediction",
    heading: text!(detr.section_set_prediction_heading),
    body: text!(detr.section_set_prediction_body),
};

pub const QUERIES: Section = Section {
    id: "object-queries",
    heading: text!(detr.section_object_queries_heading),
    body: text!(detr.section_object_queries_body),
};

pub const MATCHING: Section = Section {
    id: "matching",
    heading: text!(detr.section_matching_heading),
    body: text!(detr.section_matching_body),
};

pub const PIPELINE: Section = Section {
    id: "pipeline",
    heading: text!(detr.section_pipeline_heading),
    body: text!(detr.section_pipeline_body),
};

pub const SLOW: Section = Section {
    id: "why-slow",
    heading: text!(detr.section_why_slow_heading),
    body: text!(detr.section_why_slow_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 5] = [SET, QUERIES, MATCHING, PIPELINE, SLOW];
