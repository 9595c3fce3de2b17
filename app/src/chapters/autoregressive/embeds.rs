//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const SCORE: Widget = Widget {
    slug: "ar-score",
    title: text!(autoregressive.widget_score),
};

pub const SAMPLE: Widget = Widget {
    slug: "ar-sample",
    title: text!(autoregressive.widget_sample),
};

pub const RECEPTIVE: Widget = Widget {
    slug: "ar-receptive",
    title: text!(autoregressive.widget_receptive),
};

pub const COMPLETE: Widget = Widget {
    slug: "ar-complete",
    title: text!(autoregressive.widget_complete),
};

pub const COSTS: Widget = Widget {
    slug: "ar-costs",
    title: text!(autoregressive.widget_costs),
};
