//! A compiled pipeline: tasks built from the DOT graph, checked for cycles, variables bound
//! to ancestors, execution order fixed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::dot::{DotAttr, DotGraph, DotNode, parse_dot};
use crate::spec::{LineIndex, SpecError, parse_duration};
use crate::tasks::{self, Params, Task};
use crate::template::{Root, RootLookup};
use crate::value::Value;

/// Attributes every task accepts, handled by the engine rather than the task type.
pub(crate) const COMMON_ATTRS: &[&str] = &[
    "type",
    "index",
    "timeout",
    "failEarly",
    "retries",
    "minBackoff",
    "maxBackoff",
];

/// A pipeline ready to run: parse once, execute many times.
#[derive(Debug)]
pub struct Pipeline {
    pub(crate) tasks: Vec<TaskNode>,
    /// Topological order (ties broken by declaration order).
    pub(crate) order: Vec<usize>,
    /// Terminal tasks (no successors), sorted by their `index` attribute.
    pub(crate) terminals: Vec<usize>,
    pub(crate) warnings: Vec<String>,
}

/// One task of a pipeline.
#[derive(Debug)]
pub(crate) struct TaskNode {
    pub dot_id: String,
    pub type_name: &'static str,
    pub task: Box<dyn Task>,
    /// Predecessors ordered by their `index`, ties in edge declaration order.
    pub preds: Vec<usize>,
    pub succs: Vec<usize>,
    pub index: i64,
    pub timeout: Option<Duration>,
    pub fail_early: bool,
    pub retries: u32,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

/// Read-only description of a task, for callers that display or store pipelines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo<'a> {
    /// The task id in the DOT source.
    pub dot_id: &'a str,
    /// The task type name.
    pub task_type: &'a str,
    /// Ids of the tasks feeding this one, in edge order.
    pub inputs: Vec<&'a str>,
    /// The `index` attribute (0 when absent).
    pub index: i64,
    /// The `timeout` attribute.
    pub timeout: Option<Duration>,
}

impl Pipeline {
    /// Parses and compiles a standalone DOT pipeline (error positions are in `source`).
    pub fn parse(source: &str, origin: &str) -> Result<Pipeline, SpecError> {
        let index = LineIndex::new(source);
        build(source).map_err(|e| {
            let (line, column) = index.position(e.offset);
            SpecError {
                origin: origin.to_owned(),
                line,
                column,
                field: Some(e.field),
                message: e.message,
            }
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the pipeline has no tasks (never true for a parsed pipeline).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The tasks in declaration order.
    pub fn tasks(&self) -> impl Iterator<Item = TaskInfo<'_>> {
        self.tasks.iter().map(|t| TaskInfo {
            dot_id: &t.dot_id,
            task_type: t.type_name,
            inputs: t
                .preds
                .iter()
                .filter_map(|&p| self.tasks.get(p).map(|n| n.dot_id.as_str()))
                .collect(),
            index: t.index,
            timeout: t.timeout,
        })
    }

    /// Ids of the terminal tasks, in output order.
    pub fn terminal_ids(&self) -> Vec<&str> {
        self.terminals
            .iter()
            .filter_map(|&i| self.tasks.get(i).map(|t| t.dot_id.as_str()))
            .collect()
    }

    /// Non-fatal remarks collected while compiling (ignored attributes…).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// A compile error at a byte offset of the DOT source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BuildError {
    pub offset: usize,
    pub field: String,
    pub message: String,
}

const FIELD: &str = "observationSource";

fn node_field(node: &DotNode) -> String {
    format!("{FIELD}: task {:?}", node.id)
}

fn attr_field(node: &DotNode, attr: &str) -> String {
    format!("{FIELD}: task {:?} attribute {:?}", node.id, attr)
}

struct Lookup<'g> {
    ids: &'g HashMap<&'g str, usize>,
    preds: &'g [Vec<usize>],
    current: usize,
    current_id: &'g str,
    ancestors: RefCell<Option<Vec<bool>>>,
}

impl Lookup<'_> {
    fn is_ancestor(&self, candidate: usize) -> bool {
        let mut cache = self.ancestors.borrow_mut();
        let set = cache.get_or_insert_with(|| {
            let mut seen = vec![false; self.preds.len()];
            let mut stack: Vec<usize> = self.preds.get(self.current).cloned().unwrap_or_default();
            while let Some(n) = stack.pop() {
                if let Some(s) = seen.get_mut(n) {
                    if *s {
                        continue;
                    }
                    *s = true;
                }
                if let Some(ps) = self.preds.get(n) {
                    stack.extend(ps.iter().copied());
                }
            }
            seen
        });
        set.get(candidate).copied().unwrap_or(false)
    }
}

impl RootLookup for Lookup<'_> {
    fn lookup(&self, name: &str) -> Result<Root, String> {
        match name {
            "jobSpec" => return Ok(Root::JobSpec),
            "jobRun" => return Ok(Root::JobRun),
            _ => {}
        }
        let Some(&i) = self.ids.get(name) else {
            return Err(format!("unknown task {name:?}"));
        };
        if i == self.current {
            return Err("a task cannot read its own output".to_owned());
        }
        if !self.is_ancestor(i) {
            return Err(format!(
                "task {name:?} is not an ancestor of {:?} (add an edge path {name} -> … -> {})",
                self.current_id, self.current_id
            ));
        }
        Ok(Root::Task(i))
    }
}

fn attr<'a>(node: &'a DotNode, key: &str) -> Option<&'a DotAttr> {
    node.attrs.iter().find(|a| a.key == key)
}

fn common_err(node: &DotNode, a: &DotAttr, message: String) -> BuildError {
    BuildError {
        offset: a.value_offset,
        field: attr_field(node, &a.key),
        message,
    }
}

fn duration_attr(node: &DotNode, key: &str) -> Result<Option<Duration>, BuildError> {
    match attr(node, key) {
        Some(a) if !a.value.trim().is_empty() => parse_duration(a.value.trim())
            .map(Some)
            .map_err(|m| common_err(node, a, m)),
        _ => Ok(None),
    }
}

fn value_attr<T>(
    node: &DotNode,
    key: &str,
    f: impl FnOnce(&Value) -> Result<T, crate::value::ValueError>,
) -> Result<Option<T>, BuildError> {
    match attr(node, key) {
        Some(a) if !a.value.trim().is_empty() => f(&Value::String(a.value.trim().to_owned()))
            .map(Some)
            .map_err(|e| common_err(node, a, e.0)),
        _ => Ok(None),
    }
}

/// Compiles DOT source into a pipeline. Errors carry byte offsets into `src`.
pub(crate) fn build(src: &str) -> Result<Pipeline, BuildError> {
    let DotGraph {
        nodes,
        edges,
        mut warnings,
    } = parse_dot(src).map_err(|e| BuildError {
        offset: e.offset,
        field: FIELD.to_owned(),
        message: e.message,
    })?;
    if nodes.is_empty() {
        return Err(BuildError {
            offset: 0,
            field: FIELD.to_owned(),
            message: "the pipeline has no tasks".to_owned(),
        });
    }
    for n in &nodes {
        if !n.defined {
            return Err(BuildError {
                offset: n.offset,
                field: node_field(n),
                message: format!(
                    "task {:?} is used in an edge but never defined with a type",
                    n.id
                ),
            });
        }
    }
    let count = nodes.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); count];
    for e in &edges {
        if e.from == e.to {
            let n = nodes.get(e.from);
            return Err(BuildError {
                offset: e.offset,
                field: n.map(node_field).unwrap_or_else(|| FIELD.to_owned()),
                message: format!(
                    "cycle: task {:?} depends on itself",
                    n.map(|n| n.id.as_str()).unwrap_or("")
                ),
            });
        }
        if let Some(p) = preds.get_mut(e.to) {
            p.push(e.from);
        }
        if let Some(s) = succs.get_mut(e.from) {
            s.push(e.to);
        }
    }
    let order = topo_order(&preds, &succs).map_err(|stuck| {
        let cycle = find_cycle(&preds, stuck);
        let names: Vec<&str> = cycle
            .iter()
            .filter_map(|&i| nodes.get(i).map(|n| n.id.as_str()))
            .collect();
        let first = cycle.first().and_then(|&i| nodes.get(i));
        BuildError {
            offset: first.map(|n| n.offset).unwrap_or(0),
            field: first.map(node_field).unwrap_or_else(|| FIELD.to_owned()),
            message: format!("cycle: {}", names.join(" -> ")),
        }
    })?;

    let ids: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut tasks = Vec::with_capacity(count);
    for (i, node) in nodes.iter().enumerate() {
        let Some(type_attr) = attr(node, "type").filter(|a| !a.value.trim().is_empty()) else {
            return Err(BuildError {
                offset: node.offset,
                field: node_field(node),
                message: format!("task {:?} has no type attribute", node.id),
            });
        };
        let type_name = type_attr.value.trim();
        let Some(def) = tasks::find(type_name) else {
            return Err(common_err(
                node,
                type_attr,
                format!("unknown task type {type_name:?}"),
            ));
        };
        let index = value_attr(node, "index", Value::as_i64)?.unwrap_or(0);
        let timeout = duration_attr(node, "timeout")?;
        let fail_early = value_attr(node, "failEarly", Value::as_bool)?.unwrap_or(false);
        let retries = value_attr(node, "retries", Value::as_u64)?.unwrap_or(0);
        let retries = u32::try_from(retries.min(100)).unwrap_or(100);
        let min_backoff = duration_attr(node, "minBackoff")?.unwrap_or(Duration::from_secs(5));
        let max_backoff = duration_attr(node, "maxBackoff")?
            .unwrap_or(Duration::from_secs(60))
            .max(min_backoff);

        let lookup = Lookup {
            ids: &ids,
            preds: &preds,
            current: i,
            current_id: &node.id,
            ancestors: RefCell::new(None),
        };
        let mut params = Params::new(def.name, &node.attrs, &lookup, COMMON_ATTRS);
        let built = (def.build)(&mut params).and_then(|task| {
            let w = params.finish()?;
            Ok((task, w))
        });
        let (task, task_warnings) = built.map_err(|e| {
            let target = e.attr.as_deref().and_then(|name| attr(node, name));
            match target {
                Some(a) => BuildError {
                    offset: if e.at_key {
                        a.key_offset
                    } else {
                        a.source_offset(e.offset)
                    },
                    field: attr_field(node, &a.key),
                    message: e.message,
                },
                None => BuildError {
                    offset: node.offset,
                    field: node_field(node),
                    message: e.message,
                },
            }
        })?;
        warnings.extend(
            task_warnings
                .into_iter()
                .map(|w| format!("task {:?}: {w}", node.id)),
        );
        tasks.push(TaskNode {
            dot_id: node.id.clone(),
            type_name: def.name,
            task,
            preds: preds.get(i).cloned().unwrap_or_default(),
            succs: succs.get(i).cloned().unwrap_or_default(),
            index,
            timeout,
            fail_early,
            retries,
            min_backoff,
            max_backoff,
        });
    }
    // A task's inputs come in the order of its predecessors' `index` attributes (default
    // 0), ties in edge order — as the established node orders them. `any`, `mode` and every
    // "defaults to the first input" parameter depend on it.
    let indexes: Vec<i64> = tasks.iter().map(|t| t.index).collect();
    for t in &mut tasks {
        t.preds
            .sort_by_key(|&p| indexes.get(p).copied().unwrap_or(0));
    }
    let mut terminals: Vec<usize> = (0..count)
        .filter(|&i| succs.get(i).is_some_and(Vec::is_empty))
        .collect();
    terminals.sort_by_key(|&i| (tasks.get(i).map(|t: &TaskNode| t.index).unwrap_or(0), i));
    Ok(Pipeline {
        tasks,
        order,
        terminals,
        warnings,
    })
}

/// Kahn's algorithm; ties resolved by declaration order. `Err` holds a node left over.
fn topo_order(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Result<Vec<usize>, usize> {
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| std::cmp::Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(preds.len());
    while let Some(std::cmp::Reverse(n)) = ready.pop() {
        order.push(n);
        for &s in succs.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(d) = indegree.get_mut(s) {
                *d = d.saturating_sub(1);
                if *d == 0 {
                    ready.push(std::cmp::Reverse(s));
                }
            }
        }
    }
    if order.len() == preds.len() {
        Ok(order)
    } else {
        let stuck = indegree.iter().position(|&d| d > 0).unwrap_or(0);
        Err(stuck)
    }
}

/// Walks predecessors from a node left over by the topological sort until a node repeats;
/// returns the cycle in edge direction.
fn find_cycle(preds: &[Vec<usize>], start: usize) -> Vec<usize> {
    // Restrict to nodes that cannot be sorted: those reachable backwards stay in the cycle
    // region, so following any predecessor that is itself stuck eventually repeats.
    let stuck = stuck_nodes(preds);
    let mut path = vec![start];
    let mut pos_in_path: HashMap<usize, usize> = HashMap::from([(start, 0)]);
    let mut cur = start;
    loop {
        let next = preds.get(cur).and_then(|ps| {
            ps.iter()
                .copied()
                .find(|p| stuck.get(*p).copied().unwrap_or(false))
        });
        let Some(next) = next else {
            return path;
        };
        if let Some(&at) = pos_in_path.get(&next) {
            let mut cycle: Vec<usize> = path.get(at..).map(<[usize]>::to_vec).unwrap_or_default();
            cycle.reverse();
            // Start at the earliest declared task for a stable message.
            if let Some(min_pos) = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| **n)
                .map(|(p, _)| p)
            {
                cycle.rotate_left(min_pos);
            }
            if let Some(&first) = cycle.first() {
                cycle.push(first);
            }
            return cycle;
        }
        pos_in_path.insert(next, path.len());
        path.push(next);
        cur = next;
    }
}

fn stuck_nodes(preds: &[Vec<usize>]) -> Vec<bool> {
    // A node is sortable if all its predecessors are sortable; iterate to a fixed point.
    let n = preds.len();
    let mut done = vec![false; n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            if done.get(i).copied().unwrap_or(true) {
                continue;
            }
            let ok = preds
                .get(i)
                .map(|ps| ps.iter().all(|p| done.get(*p).copied().unwrap_or(false)))
                .unwrap_or(true);
            if ok {
                if let Some(d) = done.get_mut(i) {
                    *d = true;
                }
                changed = true;
            }
        }
    }
    done.iter().map(|d| !d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_orders() {
        let p = Pipeline::parse(
            "b [type=multiply input=2 times=3]\na [type=multiply input=1 times=1]\nc [type=median index=1]\nd [type=median index=0]\na -> b -> c\na -> d",
            "x.dot",
        )
        .unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.terminal_ids(), vec!["d", "c"]);
        let b = p.tasks().find(|t| t.dot_id == "b").unwrap();
        assert_eq!(b.inputs, vec!["a"]);
        assert_eq!(p.order.first(), Some(&1));
    }

    #[test]
    fn reports_graph_errors() {
        let e = Pipeline::parse("a [type=median]\nb [type=median]\na -> b -> a", "x").unwrap_err();
        assert!(e.message.starts_with("cycle: "), "{e}");
        let e = Pipeline::parse("a [type=median]\na -> b", "x").unwrap_err();
        assert!(e.message.contains("never defined"), "{e}");
        assert_eq!((e.line, e.column), (2, 6));
        let e = Pipeline::parse("a [type=nope]", "x").unwrap_err();
        assert_eq!(e.message, "unknown task type \"nope\"");
        assert_eq!((e.line, e.column), (1, 9));
        let e = Pipeline::parse("a [type=median foo=1]", "x").unwrap_err();
        assert_eq!(e.message, "unknown parameter \"foo\" for task type median");
        assert_eq!(
            e.field.as_deref(),
            Some("observationSource: task \"a\" attribute \"foo\"")
        );
        let e = Pipeline::parse("a [type=multiply times=2]\nb [type=multiply times=\"$(c)\"]\nc [type=multiply times=1]\na -> b", "x").unwrap_err();
        assert!(e.message.contains("not an ancestor"), "{e}");
        assert_eq!((e.line, e.column), (2, 25));
        let e = Pipeline::parse("a [type=multiply times=\"$(zz.x)\"]", "x").unwrap_err();
        assert!(e.message.contains("unknown task \"zz\""), "{e}");
        let e = Pipeline::parse("a [type=multiply]", "x").unwrap_err();
        assert!(
            e.message.contains("missing required parameter \"times\""),
            "{e}"
        );
        let e = Pipeline::parse("a [type=multiply times=2 timeout=\"abc\"]", "x").unwrap_err();
        assert!(e.message.contains("duration"), "{e}");
    }
}
