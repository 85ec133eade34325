/* Operator console: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Editing the location text switches the region back to "resolve from the text".
  document.querySelectorAll("[data-region-auto]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-region-auto"));
    if (!select) return;
    var initial = input.value;
    input.addEventListener("input", function () {
      if (input.value !== initial) select.value = "";
    });
  });

  // The action form shows only the fields the chosen action uses.
  document.querySelectorAll(".action-form").forEach(function (form) {
    var select = form.querySelector("select[name=action]");
    if (!select) return;
    function update() {
      form.querySelectorAll("[data-for]").forEach(function (el) {
        var wanted = el.getAttribute("data-for").split(/\s+/);
        el.classList.toggle("hidden", wanted.indexOf(select.value) < 0);
      });
    }
    select.addEventListener("change", update);
    update();
  });

  // Merging cannot be undone: ask first.
  document.querySelectorAll(".action-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var select = form.querySelector("select[name=action]");
      if (select && select.value === "merge") {
        var into = form.querySelector("input[name=into]");
        if (!window.confirm("确定将本工单合并到 " + (into ? into.value : "") + "？合并后不可撤销。")) {
          event.preventDefault();
        }
      }
    });
  });

  // No double submits.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      if (form.dataset.submitting) { event.preventDefault(); return; }
      form.dataset.submitting = "1";
      setTimeout(function () { delete form.dataset.submitting; }, 8000);
    });
  });
})();
