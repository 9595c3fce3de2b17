//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const DETECT: Widget = Widget {
    slug: "detr-detect",
    title: text!(detr.widget_detect),
};

pub const QUERIES: Widget = Widget {
    slug: "detr-queries",
    title: text!(detr.widget_queries),
};

pub const ATTENTION: Widget = Widget {
    slug: "detr-attention",
    title: text!(detr.widget_attention),
};

pub const MATCHING: Widget = Widget {
    slug: "detr-matching",
    title: text!(detr.widget_matching),
};

pub const PIPELINE: Widget = Widget {
    slug: "detr-pipeline",
    title: text!(detr.widget_pipeline),
};
