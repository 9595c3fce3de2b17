//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const BUILD: Widget = Widget {
    slug: "search-build",
    title: text!(search.widget_build),
};

pub const QUERY: Widget = Widget {
    slug: "search-query",
    title: text!(search.widget_query),
};

pub const INTERSECT: Widget = Widget {
    slug: "search-intersect",
    title: text!(search.widget_intersect),
};

pub const PIPELINE: Widget = Widget {
    slug: "search-pipeline",
    title: text!(search.widget_pipeline),
};
