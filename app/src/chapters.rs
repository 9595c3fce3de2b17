//! The chapters: their routes and the teaching text that introduces them.
//! Content only; the models and widgets live in their own modules.

use crate::i18n::{td_string, Locale};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chapter {
    Autoregressive,
    Attention,
    Detr,
}

impl Chapter {
    pub const ALL: [Chapter; 3] = [Chapter::Autoregressive, Chapter::Attention, Chapter::Detr];

    pub fn slug(self) -> &'static str {
        match self {
            Chapter::Autoregressive => "autoregressive",
            Chapter::Attention => "attention",
            Chapter::Detr => "detr",
        }
    }

    /// The chapter's title, from `locales/<lang>/chapters.json`.
    pub fn title(self, locale: Locale) -> &'static str {
        match self {
            Chapter::Autoregressive => td_string!(locale, chapters.ar_title),
            Chapter::Attention => td_string!(locale, chapters.kv_title),
            Chapter::Detr => td_string!(locale, chapters.detr_title),
        }
    }

    /// One paragraph on what the chapter teaches, with its formulas.
    pub fn summary(self, locale: Locale) -> &'static str {
        match self {
            Chapter::Autoregressive => td_string!(locale, chapters.ar_summary),
            Chapter::Attention => td_string!(locale, chapters.kv_summary),
            Chapter::Detr => td_string!(locale, chapters.detr_summary),
        }
    }
}

/// Chapter 1's teaching text, in the order the page shows it. Each entry is
/// a heading and its paragraphs; the widgets sit between them.
pub struct Section {
    pub id: &'static str,
    pub heading: &'static str,
    pub paragraphs: &'static [&'static str],
}

/// Every section of teaching text, in chapter order.
pub const ALL_SECTIONS: [Section; 9] = [
    AR_CHAIN_RULE,
    AR_MODELS,
    AR_TEACHER_FORCING,
    KV_WHY,
    KV_LIVE,
    DETR_SET,
    DETR_QUERIES,
    DETR_MATCHING,
    DETR_SLOW,
];

pub const AR_CHAIN_RULE: Section = Section {
    id: "chain-rule",
    heading: "The chain rule over pixels",
    paragraphs: &[
        "Any distribution over a 28×28 binary image can be written exactly as a product of 784 conditionals, \
         one pixel at a time in reading order: \
         $p(x) = p(x_1)\\, p(x_2 \\mid x_1) \\cdots p(x_{784} \\mid x_1, \\ldots, x_{783})$. \
         Nothing is approximated here; the modelling choice is how to parameterise each $p(x_i = 1 \\mid x_{<i})$.",
        "Because every factor is a Bernoulli probability, the likelihood of any image is exact and cheap to \
         score: $-\\log p(x) = \\sum_i -\\log p(x_i \\mid x_{<i})$, in nats. \
         Divide by $784 \\ln 2$ for bits per pixel (bits/dim).",
    ],
};

pub const AR_MODELS: Section = Section {
    id: "models",
    heading: "Four ways to parameterise the conditionals",
    paragraphs: &[
        "FVSBN gives every pixel its own logistic regression on all the pixels before it: \
         $p(x_i = 1 \\mid x_{<i}) = \\sigma\\left(b_i + \\sum_{j=1}^{i-1} \\alpha_{ij} x_j\\right)$. \
         That is $n(n-1)/2 + n$ = 307,720 weights for $n = 784$, \
         and no sharing between pixels.",
        "NADE shares one hidden layer among all conditionals: $h_i = \\sigma(c + W_{:,<i}\\, x_{<i})$ and \
         $p(x_i = 1 \\mid x_{<i}) = \\sigma(b_i + V_i \\cdot h_i)$. \
         The pre-activation obeys $a_{i+1} = a_i + W_{:,i}\\, x_i$, so all 784 \
         conditionals cost $O(nd)$ rather than $O(n^2 d)$, with $2nd + n + d$ parameters.",
        "MADE starts from an ordinary autoencoder and deletes connections. Each hidden unit k gets a degree \
         $m(k)$ between 1 and $n - 1$; input $j$ may feed unit $k$ only if $m(k) \\ge j$, and unit $k$ may feed output $i$ only \
         if $i > m(k)$. Any path from input $j$ to output $i$ then has $j \\le m(k) < i$, so output $i$ sees only $x_{<i}$, and \
         one forward pass gives all 784 conditionals. Ours adds a direct, strictly lower-triangular input-to-output \
         matrix, because in raster order the pixel just left of i reaches output i through only the few hidden \
         units whose degree is exactly $i - 1$.",
        "PixelCNN replaces the dense layers with masked convolutions. The first 7×7 layer is type A: a pixel \
         sees the rows above and the pixels to its left, never itself. Later 3×3 layers are type B: they may \
         also use the pixel's own features, which by then summarise only what came before it. Weights are shared \
         across positions, so the parameter count does not grow with the image. Stacked masks leave a blind spot: \
         pixels above and to the right that no path reaches.",
    ],
};

pub const AR_TEACHER_FORCING: Section = Section {
    id: "teacher-forcing",
    heading: "Teacher forcing versus sampling",
    paragraphs: &[
        "Scoring an image feeds the model the true pixels: every conditional is evaluated on the real prefix, \
         so FVSBN, MADE and PixelCNN compute all 784 of them in one parallel pass. This is teacher forcing, and \
         it is also how the models were trained: maximise $\\sum_i \\log p(x_i \\mid x_{<i})$ over the training digits.",
        "Sampling cannot be parallel. Pixel i's conditional needs pixel i − 1's value, which does not exist until \
         it has been drawn. So a sample is 784 sequential steps, each a full evaluation of the model. On your GPU \
         the whole loop is recorded into command buffers and read back only to show progress.",
        "The same prefix constraint limits completion: a raster-order model can fill in everything after the rows \
         you keep, but not the left half of an image given the right, because its conditionals never look ahead.",
    ],
};

pub const KV_WHY: Section = Section {
    id: "why-kv",
    heading: "Why the KV cache sets the limits",
    paragraphs: &[
        "A decoder generates one token at a time, and each new token attends to every earlier one. \
         Recomputing the earlier tokens' keys and values at every step would cost $O(t^2)$ over a sequence, so \
         servers keep them: the KV cache. It grows by a fixed number of bytes per token, in every layer, and \
         it is usually what limits the batch size and the context a GPU can serve.",
        "The attention variants differ only in what each token leaves behind. Multi-head attention (MHA) keeps \
         a key and a value for every head: $2 n_h d_h$ elements per layer. Grouped-query attention (GQA) shares \
         each key/value head among a group of query heads: $2 n_g d_h$. Multi-query attention (MQA) shares one \
         across all heads: $2 d_h$. DeepSeek-V2's multi-head latent attention (MLA) caches a compressed latent $c$ \
         of $d_c$ values and one small RoPE key of $d_h^R$ values, and rebuilds every head's keys and values from \
         them: $d_c + d_h^R$.",
        "A sliding window caps a layer's cache at the last $w$ tokens. Mistral 7B windows every layer; Gemma 2 \
         alternates windowed (local) and full (global) layers, so only half its cache stops growing.",
    ],
};

pub const KV_LIVE: Section = Section {
    id: "kv-live",
    heading: "Four attentions, one task, measured",
    paragraphs: &[
        "To see the trade-off rather than compute it, we trained four small transformers on binarised MNIST. \
         A digit is cut into 196 patches of 2×2 pixels, read in raster order; each patch is one token with 16 \
         possible values, so the model's 196 softmaxes give the exact probability of all 784 pixels. The four \
         models share everything (2 layers, width 64, 4 query heads of 16 dimensions, RoPE, a 512-wide MLP) \
         except attention: MHA with 4 key/value heads, GQA with 2, MQA with 1, and MLA with a 32-value latent \
         and an 8-value RoPE key.",
        "MLA can be run two ways that compute the same function. The naive form rebuilds every cached token's \
         keys and values from its latent at each step. The absorbed form multiplies the query by $W_{uk}$ and folds \
         $W_{uv}$ into the output projection once, when the weights load, so attention runs directly over the cached \
         latents and keys and values are never formed. That is why MLA's small cache costs no extra compute at \
         decode time.",
    ],
};

pub const DETR_SET: Section = Section {
    id: "set-prediction",
    heading: "Detection as set prediction",
    paragraphs: &[
        "A classic detector proposes thousands of overlapping candidate boxes, scores them, and then deletes \
         near-duplicates with non-maximum suppression (NMS), a hand-written step outside the network. DETR \
         (Carion et al., 2020) asks the network for the answer directly: a fixed-size set of N predictions, each \
         a class and a box, where one class, ∅, means “no object here”.",
        "Ours is a small DETR for 96×96 canvases of handwritten digits. Four strided convolutions turn the image \
         into a 12×12 grid of 64-dimensional features; a 2-layer transformer encoder mixes them, with a 2D sine \
         positional encoding added to every query and key so attention knows where each cell is; and a 3-layer \
         decoder turns N = 10 learned object queries into 10 predictions: 11 class scores (0–9 and ∅) and a box \
         (centre x, centre y, width, height, each a sigmoid in [0, 1]).",
    ],
};

pub const DETR_QUERIES: Section = Section {
    id: "object-queries",
    heading: "Object queries",
    paragraphs: &[
        "The object queries are 10 learned vectors, the same for every image. Each decoder layer lets them attend \
         to each other (so they can divide the work) and to the encoder's 144 cells (to find something to claim). \
         Training gives each query habits: particular regions of the canvas and sizes it tends to answer for.",
        "A canvas has at most 4 digits, so most queries must answer ∅ on any image. Those ∅ queries are part of \
         the answer: they are how the model says there is nothing more to find.",
    ],
};

pub const DETR_MATCHING: Section = Section {
    id: "matching",
    heading: "Hungarian matching and the set loss",
    paragraphs: &[
        "A set has no order, so the loss cannot compare prediction i with object i. DETR first finds the one-to-one \
         assignment of objects to queries with the least total cost, \
         $-p(\\text{class}) + 5\\, L_1(\\text{boxes}) - 2\\, \\mathrm{GIoU}(\\text{boxes})$ \
         (the weights of the paper's code), using the Hungarian method in $O(n^3)$. Then the loss is cross-entropy \
         for every query (matched ones toward their digit, the rest toward ∅, down-weighted by 0.1 because ∅ is so \
         common), plus $5\\, L_1$ and $2\\,(1 - \\mathrm{GIoU})$ for the matched boxes. The same loss is applied after every \
         decoder layer (auxiliary losses), which is why every layer's guesses can be read.",
        "Because only one query is rewarded per object and every other query is pushed toward ∅, predicting the \
         same digit twice is penalised during training. That is what removes the need for NMS.",
    ],
};

pub const DETR_SLOW: Section = Section {
    id: "why-slow",
    heading: "Why DETR trains slowly, and what this model is",
    paragraphs: &[
        "DETR is simple but slow to train. Early on, every query's cross-attention is spread evenly over the whole \
         image, and the matching changes from step to step as the predictions move, so each query's target keeps \
         changing. The original DETR-R50 trained for 500 epochs on COCO to reach 42.0 AP with 41M parameters \
         (Carion et al., 2020, Table 1; hidden size 256, 6 encoder and 6 decoder layers, 8 heads, 100 queries), \
         and its authors note that small datasets train slowly from scratch (facebookresearch/detr, issues 22 and 125).",
        "Ours is about 140 times smaller, sees only black-and-white digits, and was trained here on two CPU cores on \
         freshly generated scenes. Its numbers below are measured, on 1,000 scenes built from MNIST test digits it \
         never saw.",
    ],
};
