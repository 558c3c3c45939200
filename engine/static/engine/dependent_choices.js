/*
 * Switchyard: a child registry's choices follow the parent strategy chosen in the same form.
 *
 * SelectionsForm marks each input of a child registry's field with data-switchyard-parent (the
 * HTML name of the parent's field) and data-switchyard-parents (the parent slugs the option
 * serves, "*" for every one). When the parent changes, the options that do not serve it are
 * hidden and unchecked; the option the page started with comes back when it is valid again.
 * The server checks the pair on submit either way: this only keeps the page honest.
 */
(function () {
  "use strict";

  function chosenParent(form, name) {
    var fields = form.querySelectorAll("[name='" + name.replace(/'/g, "\\'") + "']");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.tagName === "SELECT") return field.value;
      if (field.checked) return field.value;
    }
    return null;
  }

  function optionOf(input) {
    return input.closest("div") || input.parentNode;
  }

  function nothingNote(group) {
    var first = group[0];
    var list = optionOf(first).parentNode;
    var note = list.parentNode.querySelector(".switchyard-nothing[data-for='" + first.name + "']");
    if (!note) {
      note = document.createElement("p");
      note.className = "switchyard-nothing";
      note.setAttribute("data-for", first.name);
      list.parentNode.insertBefore(note, list.nextSibling);
    }
    return note;
  }

  function refresh(form, group) {
    var parentName = group[0].getAttribute("data-switchyard-parent");
    var parent = chosenParent(form, parentName);
    var shown = 0;
    group.forEach(function (input) {
      var serves = (input.getAttribute("data-switchyard-parents") || "*").split(" ");
      var valid = parent !== null && (serves.indexOf("*") >= 0 || serves.indexOf(parent) >= 0);
      optionOf(input).hidden = !valid;
      if (!valid && input.checked) input.checked = false;
      if (valid) shown += 1;
    });
    if (!group.some(function (input) { return input.checked; })) {
      group.forEach(function (input) {
        if (input.defaultChecked && !optionOf(input).hidden) input.checked = true;
      });
    }
    var note = nothingNote(group);
    note.hidden = shown > 0;
    note.textContent = shown > 0 ? "" : "Nothing to choose: no strategy is valid under " +
      parentName + "=" + (parent === null ? "nothing" : parent) + ".";
  }

  function setUp() {
    var groups = {};
    document.querySelectorAll("input[data-switchyard-parent]").forEach(function (input) {
      if (!input.form) return;
      (groups[input.name] = groups[input.name] || []).push(input);
    });
    Object.keys(groups).forEach(function (name) {
      var group = groups[name];
      var form = group[0].form;
      var parentName = group[0].getAttribute("data-switchyard-parent");
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === parentName) refresh(form, group);
      });
      refresh(form, group);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
