// The triage queue's keys: j/k move the focus between reports, x chooses the one in focus, a acknowledges,
// r recategorises, m merges the chosen reports (or, with none chosen, the one in focus). Keys typed into a
// field are the field's. After an action the queue reloads with its first report in focus: the next one.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  var form = document.getElementById("bulk");
  if (!table) { return; }
  var at = -1;
  function rows() { return Array.prototype.slice.call(table.querySelectorAll("tbody tr")); }
  function move(to) {
    var all = rows();
    if (!all.length) { return; }
    at = Math.max(0, Math.min(all.length - 1, to));
    all[at].focus();
  }
  function box(row) { return row ? row.querySelector("input[name=ids]") : null; }
  function chooseFocusedIfNone() {
    if (table.querySelector("input[name=ids]:checked")) { return; }
    var focused = box(rows()[at]);
    if (focused) { focused.checked = true; }
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "checkbox");
  }
  function act(name) {
    var button = form && form.querySelector("button[name=action][value=" + name + "]");
    if (button) { chooseFocusedIfNone(); button.click(); }
  }
  table.addEventListener("focusin", function (event) {
    var row = event.target.closest("tbody tr");
    if (row) { at = rows().indexOf(row); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var handled = true;
    if (event.key === "j") { move(at + 1); }
    else if (event.key === "k") { move(at - 1); }
    else if (event.key === "x") { var b = box(rows()[at]); if (b) { b.checked = !b.checked; } }
    else if (event.key === "a") { act("acknowledge"); }
    else if (event.key === "r" && form) { chooseFocusedIfNone(); document.getElementById("bulk-category").focus(); }
    else if (event.key === "m" && form) { chooseFocusedIfNone(); document.getElementById("bulk-merge").focus(); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });
  if (document.getElementById("queue-done")) { move(0); }
  else if (document.getElementById("bulk-error")) {
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); }
  }
})();
