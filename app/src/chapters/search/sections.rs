//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const INDEX: Section = Section {
    id: "inverted-index",
    heading: text!(search.section_index_heading),
    body: text!(search.section_index_body),
};

pub const TERMS: Section = Section {
    id: "terms",
    heading: text!(search.section_terms_heading),
    body: text!(search.section_terms_body),
};

pub const QUERIES: Section = Section {
    id: "queries",
    heading: text!(search.section_queries_heading),
    body: text!(search.section_queries_body),
};

pub const RANKING: Section = Section {
    id: "ranking",
    heading: text!(search.section_ranking_heading),
    body: text!(search.section_ranking_body),
};

pub const PLATFORM: Section = Section {
    id: "platform",
    heading: text!(search.section_platform_heading),
    body: text!(search.section_platform_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 5] = [INDEX, TERMS, QUERIES, RANKING, PLATFORM];
