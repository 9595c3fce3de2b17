//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const RECIPE: Widget = Widget {
    slug: "instruct-recipe",
    title: text!(instruct.widget_recipe),
};

pub const FUNNEL: Widget = Widget {
    slug: "instruct-funnel",
    title: text!(instruct.widget_funnel),
};

pub const TRY: Widget = Widget {
    slug: "instruct-try",
    title: text!(instruct.widget_try),
};

pub const ACCURACY: Widget = Widget {
    slug: "instruct-accuracy",
    title: text!(instruct.widget_accuracy),
};
