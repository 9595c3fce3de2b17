//! The chapter's teaching text, section by section (keys into its locale
//! files); the page puts its widgets between them. Content only.

use crate::shell::{chapter::Section, text::text};

pub const FIXED: Section = Section {
    id: "fixed-length",
    heading: text!(spp.section_fixed_heading),
    body: text!(spp.section_fixed_body),
};

pub const ONCE: Section = Section {
    id: "convolve-once",
    heading: text!(spp.section_once_heading),
    body: text!(spp.section_once_body),
};

pub const RACE: Section = Section {
    id: "race",
    heading: text!(spp.section_race_heading),
    body: text!(spp.section_race_body),
};

pub const DETECT: Section = Section {
    id: "detections",
    heading: text!(spp.section_detect_heading),
    body: text!(spp.section_detect_body),
};

pub const NEXT: Section = Section {
    id: "where-next",
    heading: text!(spp.section_next_heading),
    body: text!(spp.section_next_body),
};

/// In page order: the table of contents.
pub const ALL: [Section; 5] = [FIXED, ONCE, RACE, DETECT, NEXT];
