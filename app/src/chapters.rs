//! The chapters: their routes and the teaching text that introduces them.
//! Content only; the models and widgets live in their own modules.

use crate::i18n::{td_string, Locale};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chapter {
    Autoregressive,
    Attention,
    Detr,
    Llama,
    Lora,
    Search,
}

impl Chapter {
    pub const ALL: [Chapter; 6] = [
        Chapter::Autoregressive,
        Chapter::Attention,
        Chapter::Detr,
        Chapter::Llama,
        Chapter::Lora,
        Chapter::Search,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Chapter::Autoregressive => "autoregressive",
            Chapter::Attention => "attention",
            Chapter::Detr => "detr",
            Chapter::Llama => "llama",
            Chapter::Lora => "lora",
            Chapter::Search => "search",
        }
    }

    /// The chapter's title, from `locales/<lang>/chapters.json`.
    pub fn title(self, locale: Locale) -> &'static str {
        match self {
            Chapter::Autoregressive => td_string!(locale, chapters.ar_title),
            Chapter::Attention => td_string!(locale, chapters.kv_title),
            Chapter::Detr => td_string!(locale, chapters.detr_title),
            Chapter::Llama => td_string!(locale, chapters.llama_title),
            Chapter::Lora => td_string!(locale, chapters.lora_title),
            Chapter::Search => td_string!(locale, chapters.search_title),
        }
    }

    /// One paragraph on what the chapter teaches, with its formulas.
    pub fn summary(self, locale: Locale) -> &'static str {
        match self {
            Chapter::Autoregressive => td_string!(locale, chapters.ar_summary),
            Chapter::Attention => td_string!(locale, chapters.kv_summary),
            Chapter::Detr => td_string!(locale, chapters.detr_summary),
            Chapter::Llama => td_string!(locale, chapters.llama_summary),
            Chapter::Lora => td_string!(locale, chapters.lora_summary),
            Chapter::Search => td_string!(locale, chapters.search_summary),
        }
    }
}

/// A section of a chapter's teaching text: a heading and paragraphs (one
/// `body` in `locales/<lang>/teach.json`, paragraphs apart by a blank line);
/// the widgets sit between sections.
#[derive(Clone, Copy)]
pub struct Section {
    pub id: &'static str,
    pub heading: fn(Locale) -> &'static str,
    pub body: fn(Locale) -> &'static str,
}

impl Section {
    pub fn paragraphs(&self, locale: Locale) -> impl Iterator<Item = &'static str> {
        (self.body)(locale).split("\n\n")
    }
}

/// Every section of teaching text, in chapter order.
pub const ALL_SECTIONS: [Section; 26] = [
    AR_CHAIN_RULE,
    AR_MODELS,
    AR_RECEPTIVE,
    AR_TEACHER_FORCING,
    KV_WHY,
    KV_LIVE,
    KV_MEMORY,
    DETR_SET,
    DETR_QUERIES,
    DETR_MATCHING,
    DETR_PIPELINE,
    DETR_SLOW,
    LLAMA_DATA,
    LLAMA_WRITE,
    LLAMA_ACROSTIC,
    LLAMA_BLOCK,
    LLAMA_SCALING,
    LORA_IDEA,
    LORA_TRAIN,
    LORA_COMPARE,
    LORA_RANK,
    SEARCH_INDEX,
    SEARCH_TERMS,
    SEARCH_QUERIES,
    SEARCH_RANKING,
    SEARCH_PLATFORM,
];

pub const LORA_IDEA: Section = Section {
    id: "low-rank",
    heading: |locale| td_string!(locale, teach.lora_idea_heading),
    body: |locale| td_string!(locale, teach.lora_idea_body),
};

pub const LORA_TRAIN: Section = Section {
    id: "backward",
    heading: |locale| td_string!(locale, teach.lora_train_heading),
    body: |locale| td_string!(locale, teach.lora_train_body),
};

pub const LORA_COMPARE: Section = Section {
    id: "before-after",
    heading: |locale| td_string!(locale, teach.lora_compare_heading),
    body: |locale| td_string!(locale, teach.lora_compare_body),
};

pub const LORA_RANK: Section = Section {
    id: "rank",
    heading: |locale| td_string!(locale, teach.lora_rank_heading),
    body: |locale| td_string!(locale, teach.lora_rank_body),
};

pub const SEARCH_INDEX: Section = Section {
    id: "inverted-index",
    heading: |locale| td_string!(locale, teach.search_index_heading),
    body: |locale| td_string!(locale, teach.search_index_body),
};

pub const SEARCH_TERMS: Section = Section {
    id: "terms",
    heading: |locale| td_string!(locale, teach.search_terms_heading),
    body: |locale| td_string!(locale, teach.search_terms_body),
};

pub const SEARCH_QUERIES: Section = Section {
    id: "queries",
    heading: |locale| td_string!(locale, teach.search_queries_heading),
    body: |locale| td_string!(locale, teach.search_queries_body),
};

pub const SEARCH_RANKING: Section = Section {
    id: "ranking",
    heading: |locale| td_string!(locale, teach.search_ranking_heading),
    body: |locale| td_string!(locale, teach.search_ranking_body),
};

pub const SEARCH_PLATFORM: Section = Section {
    id: "platform",
    heading: |locale| td_string!(locale, teach.search_platform_heading),
    body: |locale| td_string!(locale, teach.search_platform_body),
};

pub const AR_CHAIN_RULE: Section = Section {
    id: "chain-rule",
    heading: |locale| td_string!(locale, teach.chain_rule_heading),
    body: |locale| td_string!(locale, teach.chain_rule_body),
};

pub const AR_MODELS: Section = Section {
    id: "models",
    heading: |locale| td_string!(locale, teach.models_heading),
    body: |locale| td_string!(locale, teach.models_body),
};

pub const AR_RECEPTIVE: Section = Section {
    id: "receptive",
    heading: |locale| td_string!(locale, teach.receptive_heading),
    body: |locale| td_string!(locale, teach.receptive_body),
};

pub const AR_TEACHER_FORCING: Section = Section {
    id: "teacher-forcing",
    heading: |locale| td_string!(locale, teach.teacher_forcing_heading),
    body: |locale| td_string!(locale, teach.teacher_forcing_body),
};

pub const KV_WHY: Section = Section {
    id: "why-kv",
    heading: |locale| td_string!(locale, teach.why_kv_heading),
    body: |locale| td_string!(locale, teach.why_kv_body),
};

pub const KV_LIVE: Section = Section {
    id: "kv-live",
    heading: |locale| td_string!(locale, teach.kv_live_heading),
    body: |locale| td_string!(locale, teach.kv_live_body),
};

pub const KV_MEMORY: Section = Section {
    id: "cache-memory",
    heading: |locale| td_string!(locale, teach.memory_heading),
    body: |locale| td_string!(locale, teach.memory_body),
};

pub const DETR_SET: Section = Section {
    id: "set-prediction",
    heading: |locale| td_string!(locale, teach.set_prediction_heading),
    body: |locale| td_string!(locale, teach.set_prediction_body),
};

pub const DETR_QUERIES: Section = Section {
    id: "object-queries",
    heading: |locale| td_string!(locale, teach.object_queries_heading),
    body: |locale| td_string!(locale, teach.object_queries_body),
};

pub const DETR_MATCHING: Section = Section {
    id: "matching",
    heading: |locale| td_string!(locale, teach.matching_heading),
    body: |locale| td_string!(locale, teach.matching_body),
};

pub const DETR_PIPELINE: Section = Section {
    id: "pipeline",
    heading: |locale| td_string!(locale, teach.pipeline_heading),
    body: |locale| td_string!(locale, teach.pipeline_body),
};

pub const DETR_SLOW: Section = Section {
    id: "why-slow",
    heading: |locale| td_string!(locale, teach.why_slow_heading),
    body: |locale| td_string!(locale, teach.why_slow_body),
};

pub const LLAMA_DATA: Section = Section {
    id: "data-over-parameters",
    heading: |locale| td_string!(locale, teach.llama_data_heading),
    body: |locale| td_string!(locale, teach.llama_data_body),
};

pub const LLAMA_WRITE: Section = Section {
    id: "writing",
    heading: |locale| td_string!(locale, teach.llama_write_heading),
    body: |locale| td_string!(locale, teach.llama_write_body),
};

pub const LLAMA_ACROSTIC: Section = Section {
    id: "acrostic",
    heading: |locale| td_string!(locale, teach.llama_acrostic_heading),
    body: |locale| td_string!(locale, teach.llama_acrostic_body),
};

pub const LLAMA_BLOCK: Section = Section {
    id: "inside-the-block",
    heading: |locale| td_string!(locale, teach.llama_block_heading),
    body: |locale| td_string!(locale, teach.llama_block_body),
};

pub const LLAMA_SCALING: Section = Section {
    id: "scaling",
    heading: |locale| td_string!(locale, teach.llama_scaling_heading),
    body: |locale| td_string!(locale, teach.llama_scaling_body),
};
