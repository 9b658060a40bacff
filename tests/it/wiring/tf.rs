//! The Terraform side of the wiring model: every stack of an environment
//! evaluated with that environment's tfvars, far enough to name what it
//! creates. Module calls, `for_each`/`count`, locals, `dynamic` blocks,
//! `terraform_remote_state` (the other stack of the same environment) and the
//! few functions the stacks use are evaluated for real; values only AWS knows
//! (ids, ARNs) are derived from the resource's own arguments the way AWS
//! shapes them (`arn:aws:iam::<account>:role/<name>`), so a role named in a
//! manifest can be matched against the role a stack declares. What cannot be
//! known statically stays `Unknown` and never matches anything.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use hcl::expr::{
    BinaryOperator, Expression, ObjectKey, Operation, TraversalOperator, UnaryOperator,
};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};

use crate::platform_code::model::{attribute, label, parse_file, string_value};

/// An evaluated HCL value.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<V>),
    Map(BTreeMap<String, V>),
    /// Not knowable before apply (or not modelled); the text says what.
    Unknown(String),
}

impl V {
    pub fn str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn get(&self, key: &str) -> &V {
        static NULL: V = V::Null;
        match self {
            V::Map(m) => m.get(key).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    pub fn items(&self) -> Vec<&V> {
        match self {
            V::List(l) => l.iter().collect(),
            V::Map(m) => m.values().collect(),
            _ => Vec::new(),
        }
    }
    /// Strings of a string or a list of strings.
    pub fn strings(&self) -> Vec<String> {
        match self {
            V::Str(s) => vec![s.clone()],
            V::List(l) => l.iter().filter_map(|v| v.str().map(String::from)).collect(),
            _ => Vec::new(),
        }
    }
    fn truthy(&self) -> Option<bool> {
        match self {
            V::Bool(b) => Some(*b),
            V::Str(s) if s == "true" => Some(true),
            V::Str(s) if s == "false" => Some(false),
            _ => None,
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            V::Num(n) => Some(*n),
            V::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
    fn is_unknown(&self) -> bool {
        matches!(self, V::Unknown(_))
    }
    fn render(&self) -> Option<String> {
        match self {
            V::Str(s) => Some(s.clone()),
            V::Num(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
            V::Num(n) => Some(n.to_string()),
            V::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

fn from_json(j: &serde_json::Value) -> V {
    match j {
        serde_json::Value::Null => V::Null,
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Number(n) => V::Num(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => V::Str(s.clone()),
        serde_json::Value::Array(a) => V::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            V::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// One resource or data-source instance the environment declares.
#[derive(Clone, Debug)]
pub struct Instance {
    /// `stack:module.iam.aws_iam_role.irsa["loki"]`
    pub address: String,
    pub kind: &'static str,
    pub ty: String,
    /// Arguments, nested blocks (as lists of maps) and the derived
    /// attributes (`arn`, `id`, `name`, `json`, ...).
    pub attrs: V,
}

/// Facts of one environment that the evaluation starts from.
pub struct EnvFacts {
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub dr_region: Option<String>,
}

/// A stack as `environment.hcl` names it.
pub struct StackDef {
    pub name: String,
    pub dir: PathBuf,
    pub backend_key: String,
    pub tfvars: BTreeMap<String, V>,
}

struct Scope {
    world: *const World,
    address: String,
    dir: PathBuf,
    body: Rc<Vec<Body>>,
    vars: BTreeMap<String, V>,
    /// `aws.dr` resolves to this region.
    dr_region: Option<String>,
    cache: RefCell<HashMap<String, V>>,
    children: RefCell<HashMap<String, Rc<Scope>>>,
}

/// Per-instance iteration values: `each.key`, `each.value`, `count.index`.
#[derive(Clone, Default)]
struct Iter {
    locals: BTreeMap<String, V>,
}

/// Every stack of one environment, evaluated lazily.
pub struct World {
    pub env: EnvFacts,
    pub stacks: Vec<StackDef>,
    parsed: RefCell<HashMap<PathBuf, Rc<Vec<Body>>>>,
    roots: RefCell<HashMap<String, Rc<Scope>>>,
    pub instances: RefCell<Vec<Instance>>,
    recorded: RefCell<std::collections::HashSet<String>>,
}

impl World {
    pub fn new(env: EnvFacts, stacks: Vec<StackDef>) -> Box<World> {
        let world = Box::new(World {
            env,
            stacks,
            parsed: RefCell::new(HashMap::new()),
            roots: RefCell::new(HashMap::new()),
            instances: RefCell::new(Vec::new()),
            recorded: RefCell::new(Default::default()),
        });
        for stack in &world.stacks {
            let root = world.root(&stack.name);
            root.walk();
        }
        world
    }

    fn bodies(&self, dir: &Path) -> Rc<Vec<Body>> {
        if let Some(b) = self.parsed.borrow().get(dir) {
            return b.clone();
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "tf"))
            .collect();
        files.sort();
        let bodies = Rc::new(files.iter().map(|f| parse_file(f)).collect::<Vec<_>>());
        self.parsed
            .borrow_mut()
            .insert(dir.to_path_buf(), bodies.clone());
        bodies
    }

    fn root(&self, stack: &str) -> Rc<Scope> {
        if let Some(s) = self.roots.borrow().get(stack) {
            return s.clone();
        }
        let def = self
            .stacks
            .iter()
            .find(|s| s.name == stack)
            .unwrap_or_else(|| panic!("no stack {stack} in {}", self.env.name));
        let body = self.bodies(&def.dir);
        let mut vars = BTreeMap::new();
        for b in body.iter() {
            for block in b.blocks().filter(|b| b.identifier.as_str() == "variable") {
                let name = label(block, 0).to_owned();
                let value = match def.tfvars.get(&name) {
                    Some(v) => v.clone(),
                    None => match attribute(&block.body, "default") {
                        Some(e) => eval_const(e),
                        None => V::Unknown(format!("var.{name} has no value")),
                    },
                };
                vars.insert(name, value);
            }
        }
        let scope = Rc::new(Scope {
            world: self as *const World,
            address: format!("{stack}:"),
            dir: def.dir.clone(),
            body,
            vars,
            dr_region: self.env.dr_region.clone(),
            cache: RefCell::new(HashMap::new()),
            children: RefCell::new(HashMap::new()),
        });
        self.roots
            .borrow_mut()
            .insert(stack.to_owned(), scope.clone());
        scope
    }

    /// All outputs of a stack, evaluated.
    pub fn outputs(&self, stack: &str) -> V {
        self.root(stack).outputs()
    }

    fn stack_by_key(&self, key: &str) -> Option<String> {
        self.stacks
            .iter()
            .find(|s| s.backend_key == key)
            .map(|s| s.name.clone())
    }

    pub fn of_type(&self, ty: &str) -> Vec<Instance> {
        self.instances
            .borrow()
            .iter()
            .filter(|i| i.ty == ty && i.kind == "resource")
            .cloned()
            .collect()
    }
}

/// A constant expression (variable defaults, tfvars).
pub fn eval_const(expr: &Expression) -> V {
    thread_local! {
        static EMPTY: Scope = Scope {
            world: std::ptr::null(),
            address: String::new(),
            dir: PathBuf::new(),
            body: Rc::new(Vec::new()),
            vars: BTreeMap::new(),
            dr_region: None,
            cache: RefCell::new(HashMap::new()),
            children: RefCell::new(HashMap::new()),
        };
    }
    EMPTY.with(|s| s.eval(expr, &Iter::default()))
}

impl Scope {
    fn world(&self) -> &World {
        assert!(
            !self.world.is_null(),
            "a constant expression referenced the configuration"
        );
        // SAFETY: scopes live inside the boxed World that created them and
        // are only used while it is alive (World::new walks them before
        // returning the box, and the box is never moved out of).
        unsafe { &*self.world }
    }

    fn blocks(&self, identifier: &str) -> Vec<&Block> {
        self.body
            .iter()
            .flat_map(|b| b.blocks())
            .filter(|b| b.identifier.as_str() == identifier)
            .collect()
    }

    /// Evaluates every resource, data source and module call, recording instances.
    fn walk(self: &Rc<Self>) {
        for kind in ["resource", "data"] {
            for block in self.blocks(kind) {
                self.resource(kind, label(block, 0), label(block, 1));
            }
        }
        for block in self.blocks("module") {
            self.module(label(block, 0)).walk();
        }
    }

    fn outputs(&self) -> V {
        let mut out = BTreeMap::new();
        for block in self.blocks("output") {
            let value = attribute(&block.body, "value")
                .map(|e| self.eval(e, &Iter::default()))
                .unwrap_or(V::Null);
            out.insert(label(block, 0).to_owned(), value);
        }
        V::Map(out)
    }

    fn module(&self, name: &str) -> Rc<Scope> {
        if let Some(s) = self.children.borrow().get(name) {
            return s.clone();
        }
        let block = self
            .blocks("module")
            .into_iter()
            .find(|b| label(b, 0) == name)
            .unwrap_or_else(|| panic!("{}module.{name} is not declared", self.address));
        let source = attribute(&block.body, "source")
            .and_then(string_value)
            .expect("module source");
        let dir = self
            .dir
            .join(&source)
            .canonicalize()
            .unwrap_or_else(|e| panic!("module {name} source {source}: {e}"));
        let body = self.world().bodies(&dir);
        let mut vars = BTreeMap::new();
        for b in body.iter() {
            for v in b.blocks().filter(|b| b.identifier.as_str() == "variable") {
                let var = label(v, 0);
                let value = match attribute(&block.body, var) {
                    Some(e) => self.eval(e, &Iter::default()),
                    None => match attribute(&v.body, "default") {
                        Some(e) => eval_const(e),
                        None => V::Unknown(format!("module.{name} input {var} not given")),
                    },
                };
                vars.insert(var.to_owned(), value);
            }
        }
        let scope = Rc::new(Scope {
            world: self.world,
            address: format!("{}module.{name}.", self.address),
            dir,
            body,
            vars,
            dr_region: self.dr_region.clone(),
            cache: RefCell::new(HashMap::new()),
            children: RefCell::new(HashMap::new()),
        });
        self.children
            .borrow_mut()
            .insert(name.to_owned(), scope.clone());
        scope
    }

    fn local(&self, name: &str) -> V {
        let key = format!("local.{name}");
        if let Some(v) = self.cache.borrow().get(&key) {
            return v.clone();
        }
        let expr = self
            .blocks("locals")
            .into_iter()
            .find_map(|b| attribute(&b.body, name).cloned());
        let v = match expr {
            Some(e) => self.eval(&e, &Iter::default()),
            None => V::Unknown(format!("local.{name} is not declared")),
        };
        self.cache.borrow_mut().insert(key, v.clone());
        v
    }

    /// A resource or data source: one object, a list (`count`) or a map (`for_each`).
    fn resource(&self, kind: &'static str, ty: &str, name: &str) -> V {
        let key = format!("{kind}.{ty}.{name}");
        if let Some(v) = self.cache.borrow().get(&key) {
            return v.clone();
        }
        let block = self
            .blocks(kind)
            .into_iter()
            .find(|b| label(b, 0) == ty && label(b, 1) == name);
        let Some(block) = block else {
            return V::Unknown(format!("{kind} {ty}.{name} is not declared"));
        };
        let prefix = if kind == "data" { "data." } else { "" };
        let base = format!("{}{prefix}{ty}.{name}", self.address);
        let value = if let Some(e) = attribute(&block.body, "for_each") {
            let each = self.eval(e, &Iter::default());
            let pairs: Vec<(String, V)> = match &each {
                V::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                V::List(l) => l
                    .iter()
                    .map(|v| (v.render().unwrap_or_default(), v.clone()))
                    .collect(),
                other => {
                    let v = V::Unknown(format!("{base}: for_each is {other:?}"));
                    self.cache.borrow_mut().insert(key, v.clone());
                    return v;
                }
            };
            let mut out = BTreeMap::new();
            for (k, v) in pairs {
                let mut iter = Iter::default();
                iter.locals.insert(
                    "each".into(),
                    V::Map(BTreeMap::from([
                        ("key".into(), V::Str(k.clone())),
                        ("value".into(), v),
                    ])),
                );
                let address = format!("{base}[\"{k}\"]");
                out.insert(k, self.instance(kind, ty, block, &iter, address));
            }
            V::Map(out)
        } else if let Some(e) = attribute(&block.body, "count") {
            match self.eval(e, &Iter::default()).num() {
                Some(n) => V::List(
                    (0..n as usize)
                        .map(|i| {
                            let mut iter = Iter::default();
                            iter.locals.insert(
                                "count".into(),
                                V::Map(BTreeMap::from([("index".into(), V::Num(i as f64))])),
                            );
                            self.instance(kind, ty, block, &iter, format!("{base}[{i}]"))
                        })
                        .collect(),
                ),
                None => V::Unknown(format!("{base}: count is not known")),
            }
        } else {
            self.instance(kind, ty, block, &Iter::default(), base)
        };
        self.cache.borrow_mut().insert(key, value.clone());
        value
    }

    fn instance(
        &self,
        kind: &'static str,
        ty: &str,
        block: &Block,
        iter: &Iter,
        address: String,
    ) -> V {
        let mut attrs = match self.eval_body(&block.body, iter) {
            V::Map(m) => m,
            _ => BTreeMap::new(),
        };
        let world = self.world();
        let account = world.env.account_id.clone();
        let provider_dr = attribute(&block.body, "provider")
            .is_some_and(|e| matches!(e, Expression::Traversal(t) if matches!(t.operators.first(), Some(TraversalOperator::GetAttr(a)) if a.as_str() == "dr")));
        let region = if provider_dr {
            self.dr_region
                .clone()
                .unwrap_or_else(|| world.env.region.clone())
        } else {
            world.env.region.clone()
        };
        derive(
            kind, ty, &address, &account, &region, &mut attrs, self, iter,
        );
        let value = V::Map(attrs);
        if world.recorded.borrow_mut().insert(address.clone()) {
            world.instances.borrow_mut().push(Instance {
                address,
                kind,
                ty: ty.to_owned(),
                attrs: value.clone(),
            });
        }
        value
    }

    /// A block body: attributes and nested blocks (lists of maps), `dynamic`
    /// blocks expanded.
    fn eval_body(&self, body: &Body, iter: &Iter) -> V {
        const META: &[&str] = &[
            "count",
            "for_each",
            "provider",
            "depends_on",
            "providers",
            "source",
        ];
        let mut out: BTreeMap<String, V> = BTreeMap::new();
        for attr in body.attributes() {
            if META.contains(&attr.key.as_str()) {
                continue;
            }
            out.insert(attr.key.as_str().to_owned(), self.eval(&attr.expr, iter));
        }
        for block in body.blocks() {
            match block.identifier.as_str() {
                "lifecycle" => {}
                "dynamic" => {
                    let name = label(block, 0).to_owned();
                    let iterator = attribute(&block.body, "iterator")
                        .and_then(|e| match e {
                            Expression::Variable(v) => Some(v.as_str().to_owned()),
                            _ => None,
                        })
                        .unwrap_or_else(|| name.clone());
                    let coll = attribute(&block.body, "for_each")
                        .map(|e| self.eval(e, iter))
                        .unwrap_or(V::Null);
                    let pairs: Vec<(V, V)> = match coll {
                        V::Map(m) => m.into_iter().map(|(k, v)| (V::Str(k), v)).collect(),
                        V::List(l) => l
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (V::Num(i as f64), v))
                            .collect(),
                        _ => Vec::new(),
                    };
                    let content = block
                        .body
                        .blocks()
                        .find(|b| b.identifier.as_str() == "content");
                    let entry = out.entry(name).or_insert_with(|| V::List(Vec::new()));
                    for (k, v) in pairs {
                        let mut inner = iter.clone();
                        inner.locals.insert(
                            iterator.clone(),
                            V::Map(BTreeMap::from([("key".into(), k), ("value".into(), v)])),
                        );
                        if let (Some(c), V::List(list)) = (content, &mut *entry) {
                            list.push(self.eval_body(&c.body, &inner));
                        }
                    }
                }
                name => {
                    let value = self.eval_body(&block.body, iter);
                    if let V::List(list) = out
                        .entry(name.to_owned())
                        .or_insert_with(|| V::List(Vec::new()))
                    {
                        list.push(value);
                    }
                }
            }
        }
        V::Map(out)
    }

    fn eval(&self, expr: &Expression, iter: &Iter) -> V {
        match expr {
            Expression::Null => V::Null,
            Expression::Bool(b) => V::Bool(*b),
            Expression::Number(n) => V::Num(n.as_f64().unwrap_or_default()),
            Expression::String(s) => V::Str(s.clone()),
            Expression::Array(items) => V::List(items.iter().map(|e| self.eval(e, iter)).collect()),
            Expression::Object(object) => {
                let mut out = BTreeMap::new();
                for (k, v) in object.iter() {
                    let key = match k {
                        ObjectKey::Identifier(i) => i.as_str().to_owned(),
                        ObjectKey::Expression(e) => match self.eval(e, iter).render() {
                            Some(s) => s,
                            None => return V::Unknown("object key".into()),
                        },
                        #[allow(unreachable_patterns)]
                        _ => return V::Unknown("object key".into()),
                    };
                    out.insert(key, self.eval(v, iter));
                }
                V::Map(out)
            }
            Expression::TemplateExpr(t) => {
                let template = Template::from_expr(t).expect("template");
                self.template(&template, iter)
            }
            Expression::Variable(v) => iter
                .locals
                .get(v.as_str())
                .cloned()
                .unwrap_or_else(|| V::Unknown(format!("bare {}", v.as_str()))),
            Expression::Traversal(t) => self.traversal(&t.expr, &t.operators, iter),
            Expression::FuncCall(call) => {
                let args: Vec<V> = call.args.iter().map(|e| self.eval(e, iter)).collect();
                let args = if call.expand_final {
                    let mut a = args;
                    if let Some(V::List(last)) = a.pop() {
                        a.extend(last);
                    }
                    a
                } else {
                    args
                };
                self.function(call.name.name.as_str(), args)
            }
            Expression::Parenthesis(inner) => self.eval(inner, iter),
            Expression::Conditional(c) => match self.eval(&c.cond_expr, iter).truthy() {
                Some(true) => self.eval(&c.true_expr, iter),
                Some(false) => self.eval(&c.false_expr, iter),
                None => V::Unknown("condition".into()),
            },
            Expression::Operation(op) => match op.as_ref() {
                Operation::Unary(u) => {
                    let v = self.eval(&u.expr, iter);
                    match (u.operator, v) {
                        (UnaryOperator::Not, v) => v
                            .truthy()
                            .map(|b| V::Bool(!b))
                            .unwrap_or(V::Unknown("!".into())),
                        (UnaryOperator::Neg, v) => v
                            .num()
                            .map(|n| V::Num(-n))
                            .unwrap_or(V::Unknown("-".into())),
                    }
                }
                Operation::Binary(b) => {
                    let l = self.eval(&b.lhs_expr, iter);
                    let r = self.eval(&b.rhs_expr, iter);
                    binary(b.operator, l, r)
                }
            },
            Expression::ForExpr(f) => {
                let coll = self.eval(&f.collection_expr, iter);
                let pairs: Vec<(V, V)> = match coll {
                    V::Map(m) => m.into_iter().map(|(k, v)| (V::Str(k), v)).collect(),
                    V::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (V::Num(i as f64), v))
                        .collect(),
                    other => return V::Unknown(format!("for over {other:?}")),
                };
                let mut list = Vec::new();
                let mut map = BTreeMap::new();
                for (k, v) in pairs {
                    let mut inner = iter.clone();
                    if let Some(kv) = &f.key_var {
                        inner.locals.insert(kv.as_str().to_owned(), k);
                    }
                    inner.locals.insert(f.value_var.as_str().to_owned(), v);
                    if let Some(cond) = &f.cond_expr {
                        if self.eval(cond, &inner).truthy() != Some(true) {
                            continue;
                        }
                    }
                    let value = self.eval(&f.value_expr, &inner);
                    match &f.key_expr {
                        Some(ke) => {
                            let key = self.eval(ke, &inner).render().unwrap_or_default();
                            map.insert(key, value);
                        }
                        None => list.push(value),
                    }
                }
                if f.key_expr.is_some() {
                    V::Map(map)
                } else {
                    V::List(list)
                }
            }
            #[allow(unreachable_patterns)]
            _ => V::Unknown("expression".into()),
        }
    }

    fn template(&self, template: &Template, iter: &Iter) -> V {
        let mut out = String::new();
        for element in template.elements() {
            match element {
                Element::Literal(s) => out.push_str(s),
                Element::Interpolation(i) => match self.eval(&i.expr, iter).render() {
                    Some(s) => out.push_str(&s),
                    None => return V::Unknown("interpolation".into()),
                },
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let branch = match self.eval(&d.cond_expr, iter).truthy() {
                            Some(true) => Some(&d.true_template),
                            Some(false) => d.false_template.as_ref(),
                            None => return V::Unknown("template if".into()),
                        };
                        if let Some(t) = branch {
                            match self.template(t, iter) {
                                V::Str(s) => out.push_str(&s),
                                other => return other,
                            }
                        }
                    }
                    Directive::For(d) => {
                        for v in self.eval(&d.collection_expr, iter).items() {
                            let mut inner = iter.clone();
                            inner
                                .locals
                                .insert(d.value_var.as_str().to_owned(), v.clone());
                            match self.template(&d.template, &inner) {
                                V::Str(s) => out.push_str(&s),
                                other => return other,
                            }
                        }
                    }
                },
            }
        }
        V::Str(out)
    }

    fn traversal(&self, root: &Expression, ops: &[TraversalOperator], iter: &Iter) -> V {
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_owned()),
            _ => None,
        };
        let (mut value, rest) = match root {
            Expression::Variable(v) => match v.as_str() {
                name if iter.locals.contains_key(name) => (iter.locals[name].clone(), 0),
                "var" => match attr(0) {
                    Some(n) => (
                        self.vars
                            .get(&n)
                            .cloned()
                            .unwrap_or_else(|| V::Unknown(format!("var.{n} not declared"))),
                        1,
                    ),
                    None => return V::Unknown("var".into()),
                },
                "local" => match attr(0) {
                    Some(n) => (self.local(&n), 1),
                    None => return V::Unknown("local".into()),
                },
                "path" => (V::Str(self.dir.display().to_string()), 1),
                "terraform" => (V::Str("default".into()), 1),
                "module" => match (attr(0), attr(1)) {
                    (Some(m), Some(o)) => (self.module(&m).outputs().get(&o).clone(), 2),
                    _ => return V::Unknown("module".into()),
                },
                "data" => match (attr(0), attr(1)) {
                    (Some(t), Some(n)) => (self.resource("data", &t, &n), 2),
                    _ => return V::Unknown("data".into()),
                },
                ty if ty.contains('_') => match attr(0) {
                    Some(n) => (self.resource("resource", ty, &n), 1),
                    None => return V::Unknown(ty.into()),
                },
                other => return V::Unknown(format!("reference {other}")),
            },
            other => (self.eval(other, iter), 0),
        };
        for op in &ops[rest..] {
            value = match op {
                TraversalOperator::GetAttr(a) => match &value {
                    V::Map(m) => m
                        .get(a.as_str())
                        .cloned()
                        .unwrap_or_else(|| V::Unknown(format!("attribute {}", a.as_str()))),
                    V::Unknown(u) => V::Unknown(u.clone()),
                    _ => V::Unknown(format!("attribute {} of a non-object", a.as_str())),
                },
                TraversalOperator::Index(e) => {
                    let index = self.eval(e, iter);
                    index_into(&value, &index)
                }
                TraversalOperator::LegacyIndex(i) => index_into(&value, &V::Num(*i as f64)),
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => value,
            };
        }
        // A splat maps the remaining attribute over a list: handled by
        // evaluating `x[*].id` as a list of each element's `id`.
        if ops.iter().any(|o| {
            matches!(
                o,
                TraversalOperator::FullSplat | TraversalOperator::AttrSplat
            )
        }) {
            return self.splat(root, ops, iter);
        }
        value
    }

    fn splat(&self, root: &Expression, ops: &[TraversalOperator], iter: &Iter) -> V {
        let at = ops
            .iter()
            .position(|o| {
                matches!(
                    o,
                    TraversalOperator::FullSplat | TraversalOperator::AttrSplat
                )
            })
            .expect("splat");
        let base = self.traversal(root, &ops[..at], iter);
        let items = match base {
            V::List(l) => l,
            V::Null => Vec::new(),
            other => vec![other],
        };
        V::List(
            items
                .into_iter()
                .map(|item| {
                    let mut inner = iter.clone();
                    inner.locals.insert("__splat".into(), item);
                    self.traversal(
                        &Expression::Variable(hcl::expr::Variable::unchecked("__splat")),
                        &ops[at + 1..],
                        &inner,
                    )
                })
                .collect(),
        )
    }

    fn function(&self, name: &str, args: Vec<V>) -> V {
        if args.iter().any(V::is_unknown) && !matches!(name, "try" | "length") {
            return V::Unknown(format!("{name}() of an unknown"));
        }
        let a0 = || args.first().cloned().unwrap_or(V::Null);
        match name {
            "merge" => {
                let mut out = BTreeMap::new();
                for a in &args {
                    if let V::Map(m) = a {
                        out.extend(m.clone());
                    }
                }
                V::Map(out)
            }
            "length" => match a0() {
                V::List(l) => V::Num(l.len() as f64),
                V::Map(m) => V::Num(m.len() as f64),
                V::Str(s) => V::Num(s.chars().count() as f64),
                _ => V::Unknown("length".into()),
            },
            "toset" | "distinct" => match a0() {
                V::List(l) => {
                    let mut out: Vec<V> = Vec::new();
                    for v in l {
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                    V::List(out)
                }
                other => other,
            },
            "tolist" | "tomap" => a0(),
            "values" => V::List(a0().items().into_iter().cloned().collect()),
            "keys" => match a0() {
                V::Map(m) => V::List(m.keys().map(|k| V::Str(k.clone())).collect()),
                _ => V::Unknown("keys".into()),
            },
            "concat" => V::List(
                args.iter()
                    .flat_map(|a| a.items().into_iter().cloned())
                    .collect(),
            ),
            "flatten" => {
                fn flat(v: &V, out: &mut Vec<V>) {
                    match v {
                        V::List(l) => l.iter().for_each(|x| flat(x, out)),
                        other => out.push(other.clone()),
                    }
                }
                let mut out = Vec::new();
                flat(&a0(), &mut out);
                V::List(out)
            }
            "contains" => V::Bool(args.get(1).is_some_and(|x| a0().items().contains(&x))),
            "sort" => {
                let mut l: Vec<String> = a0().strings();
                l.sort();
                V::List(l.into_iter().map(V::Str).collect())
            }
            "slice" => match (
                a0(),
                args.get(1).and_then(V::num),
                args.get(2).and_then(V::num),
            ) {
                (V::List(l), Some(s), Some(e)) => V::List(
                    l.get(s as usize..(e as usize).min(l.len()))
                        .unwrap_or_default()
                        .to_vec(),
                ),
                _ => V::Unknown("slice".into()),
            },
            "range" => match (args.first().and_then(V::num), args.get(1).and_then(V::num)) {
                (Some(n), None) => V::List((0..n as i64).map(|i| V::Num(i as f64)).collect()),
                (Some(s), Some(e)) => {
                    V::List((s as i64..e as i64).map(|i| V::Num(i as f64)).collect())
                }
                _ => V::Unknown("range".into()),
            },
            "replace" => match (
                a0().render(),
                args.get(1).and_then(V::render),
                args.get(2).and_then(V::render),
            ) {
                (Some(s), Some(from), Some(to)) => {
                    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
                        match regex::Regex::new(&from[1..from.len() - 1]) {
                            Ok(re) => V::Str(
                                re.replace_all(&s, to.replace('$', "$$").as_str())
                                    .into_owned(),
                            ),
                            Err(_) => V::Unknown("replace regex".into()),
                        }
                    } else {
                        V::Str(s.replace(&from, &to))
                    }
                }
                _ => V::Unknown("replace".into()),
            },
            "lower" => a0()
                .render()
                .map(|s| V::Str(s.to_lowercase()))
                .unwrap_or(V::Unknown("lower".into())),
            "join" => V::Str(
                args.get(1)
                    .map(|l| l.strings().join(&a0().render().unwrap_or_default()))
                    .unwrap_or_default(),
            ),
            "format" => match a0().render() {
                Some(f) => {
                    let mut out = f;
                    for a in &args[1..] {
                        let s = a.render().unwrap_or_default();
                        out = out.replacen("%s", &s, 1).replacen("%d", &s, 1);
                    }
                    V::Str(out)
                }
                None => V::Unknown("format".into()),
            },
            "lookup" => {
                let v = a0()
                    .get(&args.get(1).and_then(V::render).unwrap_or_default())
                    .clone();
                if v == V::Null {
                    args.get(2).cloned().unwrap_or(V::Null)
                } else {
                    v
                }
            }
            "try" | "coalesce" => args
                .into_iter()
                .find(|a| !a.is_unknown() && *a != V::Null)
                .unwrap_or(V::Null),
            "jsonencode" => a0(),
            "jsondecode" => match a0() {
                V::Str(s) => serde_json::from_str(&s)
                    .map(|j| from_json(&j))
                    .unwrap_or(V::Unknown("jsondecode".into())),
                other => other,
            },
            "file" => match a0() {
                V::Str(p) => {
                    let path = if Path::new(&p).is_absolute() {
                        PathBuf::from(&p)
                    } else {
                        self.dir.join(&p)
                    };
                    match std::fs::read_to_string(&path) {
                        // A JSON file (the audit policy) stays a document.
                        Ok(text) => serde_json::from_str(&text)
                            .map(|j| from_json(&j))
                            .unwrap_or(V::Str(text)),
                        Err(e) => V::Unknown(format!("file({p}): {e}")),
                    }
                }
                _ => V::Unknown("file".into()),
            },
            other => V::Unknown(format!("{other}() is not modelled")),
        }
    }
}

fn index_into(value: &V, index: &V) -> V {
    match (value, index) {
        (V::List(l), i) => i
            .num()
            .and_then(|n| l.get(n as usize).cloned())
            .unwrap_or_else(|| V::Unknown("index out of range".into())),
        (V::Map(m), k) => k
            .render()
            .and_then(|k| m.get(&k).cloned())
            .unwrap_or_else(|| V::Unknown(format!("key {k:?}"))),
        (V::Unknown(u), _) => V::Unknown(u.clone()),
        _ => V::Unknown("index".into()),
    }
}

fn binary(op: BinaryOperator, l: V, r: V) -> V {
    use BinaryOperator::*;
    if l.is_unknown() || r.is_unknown() {
        // `false && unknown` and `true || unknown` are still known.
        return match (op, l.truthy(), r.truthy()) {
            (And, Some(false), _) | (And, _, Some(false)) => V::Bool(false),
            (Or, Some(true), _) | (Or, _, Some(true)) => V::Bool(true),
            _ => V::Unknown("operation".into()),
        };
    }
    match op {
        Eq => V::Bool(l == r || l.render().is_some() && l.render() == r.render()),
        NotEq => V::Bool(!(l == r || l.render().is_some() && l.render() == r.render())),
        And => V::Bool(l.truthy() == Some(true) && r.truthy() == Some(true)),
        Or => V::Bool(l.truthy() == Some(true) || r.truthy() == Some(true)),
        _ => match (l.num(), r.num()) {
            (Some(a), Some(b)) => match op {
                Less => V::Bool(a < b),
                LessEq => V::Bool(a <= b),
                Greater => V::Bool(a > b),
                GreaterEq => V::Bool(a >= b),
                Plus => V::Num(a + b),
                Minus => V::Num(a - b),
                Mul => V::Num(a * b),
                Div => V::Num(a / b),
                Mod => V::Num(a % b),
                _ => V::Unknown("operator".into()),
            },
            _ => V::Unknown("arithmetic".into()),
        },
    }
}

/// The attributes AWS computes, shaped as AWS shapes them, from the
/// resource's own arguments.
#[allow(clippy::too_many_arguments)]
fn derive(
    kind: &str,
    ty: &str,
    address: &str,
    account: &str,
    region: &str,
    attrs: &mut BTreeMap<String, V>,
    scope: &Scope,
    _iter: &Iter,
) {
    let s =
        |attrs: &BTreeMap<String, V>, k: &str| attrs.get(k).and_then(|v| v.str().map(String::from));
    let name = s(attrs, "name");
    fn set(attrs: &mut BTreeMap<String, V>, k: &str, v: V) {
        attrs.entry(k.to_owned()).or_insert(v);
    }
    let opaque = format!("{ty}.{address}");
    if kind == "data" {
        match ty {
            "aws_caller_identity" => set(attrs, "account_id", V::Str(account.into())),
            "aws_region" => {
                set(attrs, "name", V::Str(region.into()));
                set(attrs, "region", V::Str(region.into()));
                set(attrs, "id", V::Str(region.into()));
            }
            "aws_partition" => {
                set(attrs, "partition", V::Str("aws".into()));
                set(attrs, "dns_suffix", V::Str("amazonaws.com".into()));
            }
            "aws_iam_policy_document" => {
                let doc = policy_document(attrs);
                set(attrs, "json", doc.clone());
                set(attrs, "minified_json", doc);
            }
            "terraform_remote_state" => {
                let key = attrs
                    .get("config")
                    .map(|c| c.get("key").clone())
                    .unwrap_or(V::Null);
                let world = scope.world();
                let outputs = match key.str().and_then(|k| world.stack_by_key(k)) {
                    Some(stack) => world.outputs(&stack),
                    None => V::Unknown(format!("remote state {key:?}")),
                };
                set(attrs, "outputs", outputs);
            }
            _ => {}
        }
        return;
    }
    let arn = match ty {
        "aws_iam_role" => name
            .as_ref()
            .map(|n| format!("arn:aws:iam::{account}:role/{n}")),
        "aws_iam_policy" => name
            .as_ref()
            .map(|n| format!("arn:aws:iam::{account}:policy/{n}")),
        "aws_secretsmanager_secret" => name
            .as_ref()
            .map(|n| format!("arn:aws:secretsmanager:{region}:{account}:secret:{n}-AbCdEf")),
        "aws_s3_bucket" => s(attrs, "bucket").map(|b| format!("arn:aws:s3:::{b}")),
        "aws_ecr_repository" => name
            .as_ref()
            .map(|n| format!("arn:aws:ecr:{region}:{account}:repository/{n}")),
        "aws_iam_openid_connect_provider" => s(attrs, "url").map(|u| {
            format!(
                "arn:aws:iam::{account}:oidc-provider/{}",
                u.trim_start_matches("https://")
            )
        }),
        "aws_kms_key" => Some(format!("arn:aws:kms:{region}:{account}:key/{address}")),
        "aws_eks_cluster" => name
            .as_ref()
            .map(|n| format!("arn:aws:eks:{region}:{account}:cluster/{n}")),
        _ => Some(format!("arn:aws:{ty}:{region}:{account}:{address}")),
    };
    if let Some(arn) = &arn {
        set(attrs, "arn", V::Str(arn.clone()));
    }
    match ty {
        "aws_iam_role" | "aws_iam_policy" => {
            if let Some(n) = &name {
                set(attrs, "id", V::Str(n.clone()));
                set(attrs, "unique_id", V::Str(n.clone()));
            }
        }
        "aws_s3_bucket" => {
            if let Some(b) = s(attrs, "bucket") {
                set(attrs, "id", V::Str(b.clone()));
                set(
                    attrs,
                    "bucket_regional_domain_name",
                    V::Str(format!("{b}.s3.{region}.amazonaws.com")),
                );
            }
        }
        "aws_secretsmanager_secret" => {
            if let Some(a) = &arn {
                set(attrs, "id", V::Str(a.clone()));
            }
        }
        "aws_ecr_repository" => {
            if let Some(n) = &name {
                set(
                    attrs,
                    "repository_url",
                    V::Str(format!("{account}.dkr.ecr.{region}.amazonaws.com/{n}")),
                );
                set(attrs, "registry_id", V::Str(account.into()));
                set(attrs, "id", V::Str(n.clone()));
            }
        }
        "aws_eks_cluster" => {
            if let Some(n) = &name {
                set(attrs, "id", V::Str(n.clone()));
                let issuer = format!(
                    "https://oidc.eks.{region}.amazonaws.com/id/{}",
                    n.to_uppercase()
                );
                let oidc = V::Map(BTreeMap::from([("issuer".into(), V::Str(issuer))]));
                set(
                    attrs,
                    "identity",
                    V::List(vec![V::Map(BTreeMap::from([(
                        "oidc".into(),
                        V::List(vec![oidc]),
                    )]))]),
                );
            }
        }
        _ => {}
    }
    set(attrs, "id", V::Str(opaque));
}

/// `aws_iam_policy_document` arguments as the JSON document AWS reads.
fn policy_document(attrs: &BTreeMap<String, V>) -> V {
    let mut statements = Vec::new();
    for st in attrs.get("statement").map(V::items).unwrap_or_default() {
        let mut out = BTreeMap::new();
        let effect = st.get("effect").str().unwrap_or("Allow").to_owned();
        out.insert("Effect".into(), V::Str(effect));
        if let Some(sid) = st.get("sid").str() {
            out.insert("Sid".into(), V::Str(sid.into()));
        }
        out.insert(
            "Action".into(),
            V::List(
                st.get("actions")
                    .strings()
                    .into_iter()
                    .map(V::Str)
                    .collect(),
            ),
        );
        if *st.get("resources") != V::Null {
            out.insert("Resource".into(), flatten_unknown(st.get("resources")));
        }
        let mut principals: BTreeMap<String, V> = BTreeMap::new();
        for p in st.get("principals").items() {
            let ty = p.get("type").str().unwrap_or("").to_owned();
            let ids = p.get("identifiers").clone();
            principals.insert(ty, ids);
        }
        if !principals.is_empty() {
            out.insert("Principal".into(), V::Map(principals));
        }
        let mut conditions: BTreeMap<String, BTreeMap<String, V>> = BTreeMap::new();
        for c in st.get("condition").items() {
            let test = c.get("test").str().unwrap_or("").to_owned();
            let variable = c
                .get("variable")
                .render()
                .unwrap_or_else(|| "<unknown>".into());
            conditions
                .entry(test)
                .or_default()
                .insert(variable, c.get("values").clone());
        }
        if !conditions.is_empty() {
            out.insert(
                "Condition".into(),
                V::Map(
                    conditions
                        .into_iter()
                        .map(|(k, v)| (k, V::Map(v)))
                        .collect(),
                ),
            );
        }
        statements.push(V::Map(out));
    }
    V::Map(BTreeMap::from([
        ("Version".into(), V::Str("2012-10-17".into())),
        ("Statement".into(), V::List(statements)),
    ]))
}

fn flatten_unknown(v: &V) -> V {
    v.clone()
}
