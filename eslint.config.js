// ESLint for the live view's JavaScript (mpq_app/ui/live_js: ES modules joined per component by
// mpq_app/ui/js_bundle.py) and its node tests (tests/js). Run by scripts/check_js.sh.
import js from "@eslint/js";
import globals from "globals";

// The modules that need no page: node's tests import them, so they may use only what both
// the browser and node provide (a `document` there is an error here).
const NO_PAGE = [
  "mpq_app/ui/live_js/figure.js",
  "mpq_app/ui/live_js/inflate.js",
  "mpq_app/ui/live_js/packed.js",
  "mpq_app/ui/live_js/painted.js",
  "mpq_app/ui/live_js/registry.js",
  "mpq_app/ui/live_js/steps.js",
];

// What mpq_app/ui/js_bundle.py joins: named imports and exported declarations only.
const BUNDLED_FORMS = [
  ["ImportDefaultSpecifier", "import names: mpq_app/ui/js_bundle.py joins no default import"],
  ["ImportNamespaceSpecifier", "import names: mpq_app/ui/js_bundle.py joins no namespace import"],
  ["ExportNamedDeclaration[declaration=null]", "export the declaration itself (mpq_app/ui/js_bundle.py)"],
  ["ExportAllDeclaration", "mpq_app/ui/js_bundle.py joins no re-export"],
].map(([selector, message]) => ({ selector, message }));

export default [
  js.configs.recommended,
  {
    rules: {
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    files: ["mpq_app/ui/live_js/**/*.js"],
    ignores: NO_PAGE,
    languageOptions: { globals: globals.browser },
  },
  {
    files: NO_PAGE,
    languageOptions: { globals: globals["shared-node-browser"] },
  },
  {
    files: ["mpq_app/ui/live_js/**/*.js"],
    rules: { "no-restricted-syntax": ["error", ...BUNDLED_FORMS] },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
];
