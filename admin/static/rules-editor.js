// The Commission Rules draft editor: the rule blocks the server rendered become a live form.
// Form → JSON: every change rewrites the draft's textarea (what the server reads).
// JSON → form: "Apply the JSON to the form" rebuilds the blocks from the textarea.
// Without this script the textarea alone edits the draft.
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  var editor = document.getElementById("rules-editor");
  var textarea = document.getElementById("document");
  var vocabularyNode = document.getElementById("rules-vocabulary");
  if (!form || !editor || !textarea || !vocabularyNode) return;
  var vocabulary = JSON.parse(vocabularyNode.textContent);
  var variables = {};
  vocabulary.variables.forEach(function (v) { variables[v.name] = v; });
  var actions = {};
  vocabulary.actions.forEach(function (a) { actions[a.name] = a; });
  var rulesNode = editor.querySelector("[data-rules]");
  var stale = document.querySelector("[data-stale]");
  var jsonError = document.querySelector("[data-json-error]");
  var applyButton = document.querySelector("[data-apply-json]");

  function template(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }
  function reveal(root) {
    root.querySelectorAll("button[hidden]").forEach(function (b) { b.hidden = false; });
  }
  function pad(n, width) { return String(n).padStart(width, "0"); }

  // Values: an input's text ↔ the JSON value of its kind.
  function toJson(kind, text) {
    if (kind === "none") return null;
    if (kind === "list") return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (kind === "text") return text;
    var digits = kind === "number" || kind === "money" || kind === "weekday" ? text.trim() : text.replace(/[-T:]/g, "");
    return /^-?\d+$/.test(digits) ? parseInt(digits, 10) : text;
  }
  function toInput(kind, value) {
    if (value === null || value === undefined) return "";
    var s = String(value);
    if (kind === "datetime" && /^\d{12}$/.test(s)) return s.slice(0, 4) + "-" + s.slice(4, 6) + "-" + s.slice(6, 8) + "T" + s.slice(8, 10) + ":" + s.slice(10);
    if (kind === "date" && /^\d{8}$/.test(s)) return s.slice(0, 4) + "-" + s.slice(4, 6) + "-" + s.slice(6);
    if (kind === "time" && typeof value === "number" && value < 2400) return pad(Math.floor(value / 100), 2) + ":" + pad(value % 100, 2);
    if (kind === "list" && Array.isArray(value)) return value.join(", ");
    return s;
  }
  function inputKind(variable, operator) {
    var v = variables[variable];
    if (!v) return "text";
    var input = (vocabulary.inputs[v.field_type] || {})[operator];
    if (input === "none" || v.field_type === "boolean") return "none";
    return v.kind;
  }

  // Building inputs the way the server's templates do.
  function valueInput(kind, options, value) {
    var el;
    if (kind === "none") {
      el = document.createElement("input");
      el.type = "hidden";
    } else if (kind === "weekday" || (options && options.length)) {
      el = document.createElement("select");
      (kind === "weekday" ? vocabulary.weekdays : options).forEach(function (label, index) {
        var option = new Option(label, kind === "weekday" ? String(index) : label);
        el.appendChild(option);
      });
    } else {
      el = document.createElement("input");
      el.type = { number: "number", money: "number", datetime: "datetime-local", date: "date", time: "time" }[kind] || "text";
      if (el.type === "number") el.step = "1";
    }
    el.dataset.field = "value";
    el.dataset.kind = kind === "weekday" || kind === "none" || kind === "list" || kind === "number" || kind === "money" ||
      kind === "datetime" || kind === "date" || kind === "time" ? kind : "text";
    el.value = toInput(kind, value);
    return el;
  }
  function refreshOperators(row, wanted) {
    var v = variables[row.querySelector('[data-field="variable"]').value];
    var select = row.querySelector('[data-field="operator"]');
    var names = v ? vocabulary.operators[v.field_type] || [] : [];
    var keep = wanted || select.value;
    select.innerHTML = "";
    names.forEach(function (name) {
      select.appendChild(new Option(vocabulary.operator_labels[name] || name, name));
    });
    if (names.indexOf(keep) >= 0) select.value = keep;
  }
  function refreshValue(row, value) {
    var variable = row.querySelector('[data-field="variable"]').value;
    var operator = row.querySelector('[data-field="operator"]').value;
    var slot = row.querySelector("[data-value-slot]");
    var old = slot.querySelector('[data-field="value"]');
    var kind = inputKind(variable, operator);
    var el = valueInput(kind, (variables[variable] || {}).options, value === undefined ? null : value);
    el.id = old.id;
    old.replaceWith(el);
    slot.querySelector("label").hidden = kind === "none";
  }
  function refreshParams(row, params) {
    var action = actions[row.querySelector('[data-field="name"]').value];
    var holder = row.querySelector("[data-params]");
    var before = {};
    holder.querySelectorAll("[data-param]").forEach(function (el) { before[el.dataset.param] = el.value; });
    params = params || before;
    holder.innerHTML = "";
    (action ? action.params : []).forEach(function (param) {
      var cell = document.createElement("span");
      cell.className = "cell";
      var label = document.createElement("label");
      label.dataset.for = param.name;
      label.textContent = vocabulary.param_labels[param.name] || param.label;
      var input = document.createElement("input");
      input.dataset.param = param.name;
      if (param.name === "amount") { input.type = "number"; input.min = "0"; input.step = "1"; } else { input.type = "text"; input.inputMode = "decimal"; }
      input.value = params[param.name] === undefined || params[param.name] === null ? "" : String(params[param.name]);
      cell.appendChild(label);
      cell.appendChild(input);
      holder.appendChild(cell);
    });
  }

  // Ids and label targets follow the structure: r<i>-<field>, r<i>-c<j>-<field>, r<i>-a<k>-<param>.
  function renumber() {
    rulesNode.querySelectorAll("[data-rule]").forEach(function (rule, i) {
      rule.id = "rule-" + i;
      rule.querySelector("[data-rule-number]").textContent = String(i + 1);
      name(rule.querySelector(".rule-head"), "r" + i);
      var join = rule.querySelector('[data-field="join"]');
      if (join) name(join.parentNode, "r" + i);
      rule.querySelectorAll("[data-condition]").forEach(function (row, j) { name(row, "r" + i + "-c" + j); });
      rule.querySelectorAll("[data-action]").forEach(function (row, k) { name(row, "r" + i + "-a" + k); });
    });
  }
  function name(container, prefix) {
    container.querySelectorAll("[data-field], [data-param]").forEach(function (el) {
      if (el.closest("[data-condition], [data-action]") !== container.closest("[data-condition], [data-action]")) return;
      el.id = prefix + "-" + (el.dataset.field || el.dataset.param);
    });
    container.querySelectorAll("label[data-for]").forEach(function (label) {
      if (label.closest("[data-condition], [data-action]") !== container.closest("[data-condition], [data-action]")) return;
      label.htmlFor = prefix + "-" + label.dataset.for;
    });
  }

  // Form → JSON.
  function number(text) { return /^-?\d+$/.test(text.trim()) ? parseInt(text, 10) : text; }
  function fromForm() {
    var doc = {};
    editor.querySelectorAll("[data-doc]").forEach(function (el) { if (el.value) doc[el.dataset.doc] = el.value; });
    doc.rules = Array.prototype.map.call(rulesNode.querySelectorAll("[data-rule]"), function (rule) {
      var field = function (f) { return rule.querySelector('.rule-head [data-field="' + f + '"]').value; };
      var out = { id: field("id"), priority: number(field("priority")), mode: field("mode") };
      if (field("description")) out.description = field("description");
      var nested = rule.querySelector("[data-nested]");
      if (nested) {
        out.conditions = JSON.parse(nested.textContent);
      } else {
        var join = rule.querySelector('[data-field="join"]').value;
        out.conditions = {};
        out.conditions[join] = Array.prototype.map.call(rule.querySelectorAll("[data-condition]"), function (row) {
          var value = row.querySelector('[data-field="value"]');
          return {
            name: row.querySelector('[data-field="variable"]').value,
            operator: row.querySelector('[data-field="operator"]').value,
            value: toJson(value.dataset.kind, value.value),
          };
        });
      }
      out.actions = Array.prototype.map.call(rule.querySelectorAll("[data-action]"), function (row) {
        var action = { name: row.querySelector('[data-field="name"]').value };
        var inputs = row.querySelectorAll("[data-param]");
        if (inputs.length) {
          action.params = {};
          inputs.forEach(function (el) { action.params[el.dataset.param] = el.dataset.param === "amount" ? number(el.value) : el.value; });
        }
        return action;
      });
      return out;
    });
    return doc;
  }
  function sync() {
    if (editor.disabled) return;
    textarea.value = JSON.stringify(fromForm(), null, 2);
  }

  // JSON → form.
  function addCondition(rule, condition) {
    var row = template("tpl-condition");
    rule.querySelector("[data-conditions]").appendChild(row);
    if (condition) {
      var select = row.querySelector('[data-field="variable"]');
      if (!variables[condition.name]) select.appendChild(new Option(condition.name, condition.name));
      select.value = condition.name;
      refreshOperators(row, condition.operator);
      refreshValue(row, condition.value);
    }
    reveal(row);
    return row;
  }
  function addAction(rule, action) {
    var row = template("tpl-action");
    rule.querySelector("[data-actions]").appendChild(row);
    if (action) {
      var select = row.querySelector('[data-field="name"]');
      if (!actions[action.name]) select.appendChild(new Option(action.name, action.name));
      select.value = action.name;
      refreshParams(row, action.params || {});
    }
    reveal(row);
    return row;
  }
  function addRule(rule) {
    var block = template("tpl-rule");
    rulesNode.appendChild(block);
    reveal(block);
    if (!rule) return block;
    var set = function (f, v) { block.querySelector('.rule-head [data-field="' + f + '"]').value = v === undefined ? "" : v; };
    set("id", rule.id); set("priority", rule.priority); set("mode", rule.mode); set("description", rule.description);
    block.querySelector("[data-conditions]").innerHTML = "";
    block.querySelector("[data-actions]").innerHTML = "";
    var conditions = rule.conditions || {};
    var join = "any" in conditions ? "any" : "all";
    var items = conditions[join] || [];
    var flat = Object.keys(conditions).length === 1 && items.every(function (c) { return c && "name" in c; });
    if (flat) {
      block.querySelector('[data-field="join"]').value = join;
      items.forEach(function (c) { addCondition(block, c); });
    } else {
      var pre = document.createElement("pre");
      pre.dataset.nested = "";
      pre.textContent = JSON.stringify(conditions, null, 1);
      var joinCell = block.querySelector('[data-field="join"]').parentNode;
      joinCell.replaceWith(pre);
      block.querySelector("[data-conditions]").remove();
      block.querySelector("[data-add-condition]").remove();
    }
    (rule.actions || []).forEach(function (a) { addAction(block, a); });
    return block;
  }
  function applyJson() {
    var doc;
    try {
      doc = JSON.parse(textarea.value);
      if (!doc || !Array.isArray(doc.rules)) throw new Error('{"rules": [...]}');
    } catch (err) {
      jsonError.textContent = err.message;
      jsonError.hidden = false;
      textarea.setAttribute("aria-invalid", "true");
      return;
    }
    jsonError.hidden = true;
    textarea.removeAttribute("aria-invalid");
    editor.querySelectorAll("[data-doc]").forEach(function (el) { el.value = doc[el.dataset.doc] || ""; });
    rulesNode.innerHTML = "";
    doc.rules.forEach(function (rule) { addRule(rule || {}); });
    editor.disabled = false;
    stale.hidden = true;
    renumber();
  }

  // Wiring: one listener each for changes and clicks, on the whole editor.
  editor.addEventListener("change", function (event) {
    var el = event.target;
    var row = el.closest("[data-condition]");
    if (row && el.dataset.field === "variable") { refreshOperators(row); refreshValue(row); }
    if (row && el.dataset.field === "operator") refreshValue(row, toJson(row.querySelector('[data-field="value"]').dataset.kind, row.querySelector('[data-field="value"]').value));
    var actionRow = el.closest("[data-action]");
    if (actionRow && el.dataset.field === "name") refreshParams(actionRow);
    renumber();
    sync();
  });
  editor.addEventListener("input", sync);
  editor.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var rule = button.closest("[data-rule]");
    if (button.hasAttribute("data-add-rule")) { var block = addRule(null); renumber(); block.querySelector("input").focus(); }
    else if (button.hasAttribute("data-remove-rule")) rule.remove();
    else if (button.hasAttribute("data-add-condition")) addCondition(rule, null).querySelector("select").focus();
    else if (button.hasAttribute("data-remove-condition")) button.closest("[data-condition]").remove();
    else if (button.hasAttribute("data-add-action")) addAction(rule, null).querySelector("select").focus();
    else if (button.hasAttribute("data-remove-action")) button.closest("[data-action]").remove();
    else return;
    renumber();
    sync();
  });
  textarea.addEventListener("input", function () {
    editor.disabled = true;  // the form would overwrite the hand edit: it waits for "apply"
    stale.hidden = false;
  });
  applyButton.addEventListener("click", function () { applyJson(); sync(); });

  reveal(editor);
  applyButton.hidden = false;
  if (textarea.getAttribute("aria-invalid") === "true" && !rulesNode.querySelector("[data-rule]")) {
    stale.hidden = false;  // the JSON does not parse: the form waits until it is fixed and applied
  } else {
    editor.disabled = false;
  }
})();
