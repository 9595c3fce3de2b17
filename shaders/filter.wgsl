// filter: a row of logits to sampling probabilities, on the GPU, so a
// generation loop never waits for a readback:
//
//   probs = softmax(logits / temperature), the first skip_first set to 0
//   (tokens never drawn), then every probability under
//   t = max(t_k, t_p) set to 0, where
//   t_k = the largest t with at least top_k probabilities ≥ t (the k-th
//         largest; ties all survive; top_k = 0 turns it off), and
//   t_p = the largest t whose survivors hold at least top_p of the mass
//         (top_p ≥ 1 turns it off).
//
// Probabilities are non-negative, so their f32 bit patterns order as the
// numbers do: each threshold is found by bisecting over the bits, 31 steps
// of a workgroup-wide count or sum, with no sort. The categorical sampler
// (sample.wgsl) then draws from the row without normalising it.
//
// Bindings (group 0):
//   0  params : uniform     (cols, top_k, top_p as f32 bits, 1/temperature as f32 bits, offset,
//                            skip_first)
//   1  logits : array<f32>  read   [offset + cols]: the row at `offset`
//   2  probs  : array<f32>  write  [cols]
//
// Workgroup: WG invocations (override; 256), one workgroup for the row.

override WG: u32;

struct Params {
    cols: u32,
    top_k: u32,
    top_p: f32,
    inv_temperature: f32,
    offset: u32,
    skip_first: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> result: f32;

// The workgroup's reduction of each invocation's `value` (max when
// `take_max`, else sum), the same in every invocation.
fn reduce(lid: u32, value: f32, take_max: bool) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            let other = partial[lid + stride];
            partial[lid] = select(partial[lid] + other, max(partial[lid], other), take_max);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        result = partial[0];
    }
    return workgroupUniformLoad(&result);
}

// How many probabilities have bits ≥ t (as f32, exact below 2^24), or their sum.
fn at_least(lid: u32, t: u32, count: bool) -> f32 {
    var acc = 0.0;
    for (var j = lid; j < p.cols; j += WG) {
        let v = probs[j];
        if (bitcast<u32>(v) >= t) {
            acc += select(v, 1.0, count);
        }
    }
    return reduce(lid, acc, false);
}

// The largest t with at_least(t) ≥ goal; at_least(0) must reach it.
fn bisect(lid: u32, goal: f32, count: bool) -> u32 {
    var lo = 0u;
    var hi = 0x3f800001u; // just above 1.0: nothing reaches it
    for (var step = 0u; step < 31u; step++) {
        let mid = lo + (hi - lo) / 2u;
        if (at_least(lid, mid, count) >= goal) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

@compute @workgroup_size(WG)
fn filter_probs(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    var m = -3.4e38;
    for (var j = lid; j < p.cols; j += WG) {
        m = max(m, logits[p.offset + j] * p.inv_temperature);
    }
    m = reduce(lid, m, true);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += WG) {
        let e = exp(logits[p.offset + j] * p.inv_temperature - m);
        probs[j] = e;
        s += e;
    }
    s = reduce(lid, s, false);
    for (var j = lid; j < p.cols; j += WG) {
        probs[j] = select(probs[j] / s, 0.0, j < p.skip_first);
    }
    storageBarrier();
    var t = 0u;
    if (p.top_k > 0u && p.top_k < p.cols) {
        t = bisect(lid, f32(p.top_k), true);
    }
    if (p.top_p < 1.0) {
        let total = at_least(lid, 0u, false);
        t = max(t, bisect(lid, p.top_p * total, false));
    }
    for (var j = lid; j < p.cols; j += WG) {
        if (bitcast<u32>(probs[j]) < t) {
            probs[j] = 0.0;
        }
    }
}
