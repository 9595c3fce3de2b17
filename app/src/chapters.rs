//! The chapters: their routes and the teaching text that introduces them.
//! Content only; the models and widgets live in their own modules.

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

    pub fn title(self) -> &'static str {
        match self {
            Chapter::Autoregressive => "Autoregressive models on MNIST",
            Chapter::Attention => "Attention variants and the KV cache",
            Chapter::Detr => "DETR: detection as set prediction",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Chapter::Autoregressive => {
                "The chain rule over pixels: p(x) = Π p(xᵢ | x<ᵢ). FVSBN, NADE, MADE and PixelCNN \
                 give the exact likelihood of a digit you draw, and sample new digits pixel by pixel."
            }
            Chapter::Attention => {
                "MHA, MQA, GQA and DeepSeek's MLA differ in how many keys and values each token \
                 leaves behind. Calculate the KV cache of real models, then watch one grow in GPU memory."
            }
            Chapter::Detr => {
                "Object queries, Hungarian matching and set prediction: a small DETR that finds \
                 handwritten digits, with every query's attention and match laid open."
            }
        }
    }

    pub fn coming(self) -> &'static [&'static str] {
        match self {
            Chapter::Autoregressive => &[
                "Draw a digit and read its exact log-probability under each model.",
                "Sample a digit pixel by pixel, with the sampling loop on your GPU.",
                "See how NADE shares weights and how MADE builds its masks.",
            ],
            Chapter::Attention => &[
                "A KV-cache calculator with presets from published model configurations.",
                "One small model in four attention variants, its cache measured live.",
                "MLA's absorbed and naive forms, computed side by side.",
            ],
            Chapter::Detr => &[
                "Draw digits and watch the object queries find them.",
                "Step through Hungarian matching between predictions and ground truth.",
                "Inspect each query's attention over the image.",
            ],
        }
    }
}
