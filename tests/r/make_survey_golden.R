# Reference values for indicators/_survey*.py from R's survey package.
#
# Usage (from the repository root):
#   Rscript tests/r/make_survey_golden.R [API_DATA_DIR] [OUTPUT]
# API_DATA_DIR holds apistrat.csv, apiclus1.csv, apiclus2.csv, apisrs.csv (R's data(api)
# written as CSV; defaults to tests/data/api); OUTPUT defaults to
# tests/survey_golden.py. Every case records the exact R expressions that produced it.
#
# Each case evaluates `call` to an object x, then `ci` (interval, one row per domain) and
# `df` (degrees of freedom, one per domain) with x in scope; options(survey.lonely.psu=)
# is set to the case's lonely option first.

suppressMessages(library(survey))
options(digits = 17)

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[[1]] else "tests/data/api"
output <- if (length(args) >= 2) args[[2]] else "tests/survey_golden.py"

read_api <- function(name) {
  read.csv(file.path(data_dir, paste0(name, ".csv")), colClasses = c(cds = "character"))
}
apistrat <- read_api("apistrat")
apiclus1 <- read_api("apiclus1")
apiclus2 <- read_api("apiclus2")
apisrs <- read_api("apisrs")

# Derived data sets; the SQL beside each builds the same rows in DuckDB.
apisrs_frac <- transform(apisrs, frac = 200 / fpc)
apiclus2_frac <- transform(apiclus2, fr1 = 40 / fpc1, fr2 = ave(snum, dnum, FUN = length) / fpc2)
h_keep <- min(apistrat$snum[apistrat$stype == "H"])
apistrat_lonely <- apistrat[apistrat$stype != "H" | apistrat$snum == h_keep, ]
apiclus2_lonely <- transform(apiclus2, fpc2b = ifelse(fpc2 == 1, 2, fpc2))

# name, R declaration, python SurveyDesign arguments (JSON-like list)
designs <- list(
  list("srs", "svydesign(id = ~1, fpc = ~fpc, data = apisrs)",
       list(source = "apisrs", fpc = list("fpc"))),
  list("srs_nofpc", "svydesign(id = ~1, weights = ~pw, data = apisrs)",
       list(source = "apisrs", weights = "pw")),
  list("srs_frac", "svydesign(id = ~1, fpc = ~frac, data = apisrs_frac)",
       list(source = "SELECT *, 200 / fpc AS frac FROM apisrs", fpc = list("frac"))),
  list("strat", "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)",
       list(source = "apistrat", strata = "stype", weights = "pw", fpc = list("fpc"))),
  list("strat_nofpc", "svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)",
       list(source = "apistrat", strata = "stype", weights = "pw")),
  list("strat_implied", "svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)",
       list(source = "apistrat", strata = "stype", fpc = list("fpc"))),
  list("clus1", "svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc"))),
  list("clus1_nofpc", "svydesign(id = ~dnum, weights = ~pw, data = apiclus1)",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw")),
  list("clus2", "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)",
       list(source = "apiclus2", psu = list("dnum", "snum"), fpc = list("fpc1", "fpc2"))),
  list("clus2_w", "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = apiclus2)",
       list(source = "apiclus2", psu = list("dnum", "snum"), fpc = list("fpc1", "fpc2"),
            weights = "pw")),
  list("clus2_nofpc", "svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)",
       list(source = "apiclus2", psu = list("dnum", "snum"), weights = "pw")),
  list("clus2_frac", "svydesign(id = ~dnum + snum, fpc = ~fr1 + fr2, data = apiclus2_frac)",
       list(source = paste("SELECT *, 40 / fpc1 AS fr1,",
                           "count(*) OVER (PARTITION BY dnum) / fpc2 AS fr2 FROM apiclus2"),
            psu = list("dnum", "snum"), fpc = list("fr1", "fr2"))),
  list("lonely_strat",
       "svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat_lonely)",
       list(source = paste("SELECT * FROM apistrat WHERE stype <> 'H' OR snum =",
                           "(SELECT min(snum) FROM apistrat WHERE stype = 'H')"),
            strata = "stype", weights = "pw", fpc = list("fpc"))),
  list("lonely_clus", "svydesign(id = ~dnum, strata = ~cname, weights = ~pw, fpc = ~fpc, data = apiclus1)",
       list(source = "apiclus1", strata = "cname", psu = list("dnum"), weights = "pw",
            fpc = list("fpc"))),
  list("lonely_clus_nofpc", "svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)",
       list(source = "apiclus1", strata = "cname", psu = list("dnum"), weights = "pw")),
  list("lonely_stage2", "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2b, data = apiclus2_lonely)",
       list(source = "SELECT *, CASE WHEN fpc2 = 1 THEN 2 ELSE fpc2 END AS fpc2b FROM apiclus2",
            psu = list("dnum", "snum"), fpc = list("fpc1", "fpc2b")))
)
for (d in designs) assign(d[[1]], eval(parse(text = d[[2]])))

# ---- cases ---------------------------------------------------------------------------

cases <- list()
# Every design gets the core cases; the variants below only the four designs of the brief,
# to keep the test run short.
core_designs <- c("srs", "strat", "clus1", "clus2")
variant_suffixes <- c(
  "-mean-api00-t90", "-total-enroll-t95", "-prop-logit-0.9", "-prop-beta-0.9",
  "-prop-mean-0.95", "-prop-xlogit-0.95", "-prop-asin-0.95", "-prop-acs46-narm-beta",
  "-prop-acs46-narm-logit", "-ratio-narm", "-by-mean-t90", "-by2-mean", "-by-mean-narm",
  "-by-ratio", "-by-prop-beta-0.9", "-by-prop-logit-0.95", "-subset-total",
  "-subset-by-prop-beta", "-compare-mean-t", "-compare-total-subset", "-compare-ratio-by2"
)
add <- function(id, design, py, call, ci = "confint(x)", df = sprintf("degf(%s)", design),
                lonely = "fail") {
  if (lonely == "fail" && !(design %in% core_designs) && !startsWith(design, "lonely") &&
      any(endsWith(id, variant_suffixes))) return(invisible())
  cases[[length(cases) + 1]] <<- list(id = id, design = design, py = py, call = call, ci = ci,
                                      df = df, lonely = lonely)
}
# degrees of freedom of each domain's own design, as svyby(..., svyciprop) uses them
domain_df <- function(design, byvar, values) {
  sapply(values, function(v) {
    keep <- design$variables[[byvar]] == v & !is.na(design$variables[[byvar]])
    degf(design[keep, ])
  })
}
yes <- "\"sch.wide\" = 'Yes'"

standard_cases <- function(d) {
  p <- function(...) list(...)
  add(paste0(d, "-mean-api00"), d, p(fn = "mean", variable = "api00"),
      sprintf("svymean(~api00, %s, deff = TRUE)", d))
  add(paste0(d, "-mean-api00-t90"), d, p(fn = "mean", variable = "api00", ci = "t", level = 0.9),
      sprintf("svymean(~api00, %s)", d), ci = sprintf("confint(x, level = 0.9, df = degf(%s))", d))
  add(paste0(d, "-total-enroll"), d, p(fn = "total", variable = "enroll", na_rm = TRUE),
      sprintf("svytotal(~enroll, %s, na.rm = TRUE, deff = TRUE)", d))
  add(paste0(d, "-total-enroll-t95"), d,
      p(fn = "total", variable = "enroll", na_rm = TRUE, ci = "t"),
      sprintf("svytotal(~enroll, %s, na.rm = TRUE)", d),
      ci = sprintf("confint(x, df = degf(%s))", d))
  add(paste0(d, "-mean-acs46-narm"), d, p(fn = "mean", variable = "acs.46", na_rm = TRUE),
      sprintf("svymean(~acs.46, %s, na.rm = TRUE, deff = TRUE)", d))
  add(paste0(d, "-prop-normal-deff"), d, p(fn = "proportion", condition = yes, ci = "normal"),
      sprintf("svymean(~as.numeric(sch.wide == \"Yes\"), %s, deff = TRUE)", d))
  for (m in list(c("logit", 0.95), c("logit", 0.9), c("beta", 0.95), c("beta", 0.9),
                 c("mean", 0.95), c("xlogit", 0.95), c("asin", 0.95))) {
    lev <- as.numeric(m[[2]])
    add(sprintf("%s-prop-%s-%g", d, m[[1]], lev), d,
        p(fn = "proportion", condition = yes, ci = m[[1]], level = lev),
        sprintf("svyciprop(~I(sch.wide == \"Yes\"), %s, method = \"%s\", level = %g)", d, m[[1]], lev))
  }
  add(paste0(d, "-prop-acs46-narm-beta"), d,
      p(fn = "proportion", condition = "\"acs.46\" > 28", ci = "beta", na_rm = TRUE),
      sprintf("svyciprop(~I(acs.46 > 28), %s, method = \"beta\", na.rm = TRUE)", d))
  add(paste0(d, "-prop-acs46-narm-logit"), d,
      p(fn = "proportion", condition = "\"acs.46\" > 28", ci = "logit", na_rm = TRUE),
      sprintf("svyciprop(~I(acs.46 > 28), %s, method = \"logit\", na.rm = TRUE)", d))
  add(paste0(d, "-ratio"), d, p(fn = "ratio", numerator = "api00", denominator = "api99"),
      sprintf("svyratio(~api00, ~api99, %s, deff = TRUE)", d))
  add(paste0(d, "-ratio-narm"), d,
      p(fn = "ratio", numerator = "acs.46", denominator = "acs.k3", na_rm = TRUE, ci = "t",
        level = 0.9),
      sprintf("svyratio(~acs.46, ~acs.k3, %s, na.rm = TRUE, deff = TRUE)", d),
      ci = sprintf("confint(x, level = 0.9, df = degf(%s))", d))
  add(paste0(d, "-by-mean"), d, p(fn = "mean", variable = "api00", by = list("stype")),
      sprintf("svyby(~api00, ~stype, %s, svymean, deff = TRUE)", d))
  add(paste0(d, "-by-mean-t90"), d,
      p(fn = "mean", variable = "api00", by = list("stype"), ci = "t", level = 0.9),
      sprintf("svyby(~api00, ~stype, %s, svymean)", d),
      ci = sprintf("confint(x, level = 0.9, df = degf(%s))", d))
  add(paste0(d, "-by2-mean"), d, p(fn = "mean", variable = "api00", by = list("stype", "awards")),
      sprintf("svyby(~api00, ~stype + awards, %s, svymean, deff = TRUE)", d))
  add(paste0(d, "-by-total"), d,
      p(fn = "total", variable = "enroll", by = list("stype"), na_rm = TRUE),
      sprintf("svyby(~enroll, ~stype, %s, svytotal, na.rm = TRUE, deff = TRUE)", d))
  add(paste0(d, "-by-mean-narm"), d,
      p(fn = "mean", variable = "acs.46", by = list("awards"), na_rm = TRUE),
      sprintf("svyby(~acs.46, ~awards, %s, svymean, na.rm = TRUE, deff = TRUE)", d))
  add(paste0(d, "-by-ratio"), d,
      p(fn = "ratio", numerator = "api00", denominator = "api99", by = list("stype")),
      sprintf("svyby(~api00, ~stype, denominator = ~api99, %s, svyratio, deff = TRUE)", d))
  for (m in list(c("beta", 0.95), c("beta", 0.9), c("logit", 0.95))) {
    lev <- as.numeric(m[[2]])
    add(sprintf("%s-by-prop-%s-%g", d, m[[1]], lev), d,
        p(fn = "proportion", condition = yes, by = list("stype"), ci = m[[1]], level = lev),
        sprintf(paste("svyby(~I(sch.wide == \"Yes\"), ~stype, %s, svyciprop,",
                      "vartype = c(\"se\", \"ci\"), method = \"%s\", level = %g)"), d, m[[1]], lev),
        ci = "cbind(x$ci_l, x$ci_u)",
        df = sprintf("domain_df(%s, \"stype\", x$stype)", d))
  }
  sub <- sprintf("subset(%s, meals > 50)", d)
  add(paste0(d, "-subset-mean"), d,
      p(fn = "mean", variable = "api00", where = "meals > 50", ci = "t"),
      sprintf("svymean(~api00, %s, deff = TRUE)", sub),
      ci = sprintf("confint(x, df = degf(%s))", sub), df = sprintf("degf(%s)", sub))
  add(paste0(d, "-subset-total"), d,
      p(fn = "total", variable = "enroll", where = "meals > 50", na_rm = TRUE),
      sprintf("svytotal(~enroll, %s, na.rm = TRUE, deff = TRUE)", sub),
      df = sprintf("degf(%s)", sub))
  add(paste0(d, "-subset-by-mean"), d,
      p(fn = "mean", variable = "api00", by = list("stype"), where = "\"both\" = 'Yes'"),
      sprintf("svyby(~api00, ~stype, subset(%s, both == \"Yes\"), svymean, deff = TRUE)", d),
      df = sprintf("degf(subset(%s, both == \"Yes\"))", d))
  add(paste0(d, "-subset-prop-beta"), d,
      p(fn = "proportion", condition = "awards = 'Yes'", where = "meals > 50", ci = "beta"),
      sprintf("svyciprop(~I(awards == \"Yes\"), %s, method = \"beta\")", sub),
      df = sprintf("degf(%s)", sub))
  add(paste0(d, "-subset-by-prop-beta"), d,
      p(fn = "proportion", condition = "awards = 'Yes'", where = "meals > 50", by = list("stype"),
        ci = "beta"),
      sprintf(paste("svyby(~I(awards == \"Yes\"), ~stype, %s, svyciprop,",
                    "vartype = c(\"se\", \"ci\"), method = \"beta\")"), sub),
      ci = "cbind(x$ci_l, x$ci_u)", df = sprintf("domain_df(%s, \"stype\", x$stype)", sub))
  add(paste0(d, "-compare-mean"), d,
      p(fn = "compare", statistic = "mean", variable = "api00", by = list("stype"),
        first = list(stype = "E"), second = list(stype = "M")),
      sprintf("svycontrast(svyby(~api00, ~stype, %s, svymean, covmat = TRUE), c(E = 1, M = -1))", d))
  add(paste0(d, "-compare-mean-t"), d,
      p(fn = "compare", statistic = "mean", variable = "api00", by = list("stype"),
        first = list(stype = "H"), second = list(stype = "E"), ci = "t", level = 0.9),
      sprintf("svycontrast(svyby(~api00, ~stype, %s, svymean, covmat = TRUE), c(H = 1, E = -1))", d),
      ci = sprintf("confint(x, level = 0.9, df = degf(%s))", d))
  add(paste0(d, "-compare-prop"), d,
      p(fn = "compare", statistic = "proportion", variable = yes, by = list("stype"),
        first = list(stype = "E"), second = list(stype = "H")),
      sprintf(paste("svycontrast(svyby(~as.numeric(sch.wide == \"Yes\"), ~stype, %s, svymean,",
                    "covmat = TRUE), c(E = 1, H = -1))"), d))
  add(paste0(d, "-compare-total-subset"), d,
      p(fn = "compare", statistic = "total", variable = "api.stu", by = list("awards"),
        where = "meals > 50", first = list(awards = "Yes"), second = list(awards = "No")),
      sprintf(paste("svycontrast(svyby(~api.stu, ~awards, %s, svytotal, covmat = TRUE),",
                    "c(Yes = 1, No = -1))"), sub),
      df = sprintf("degf(%s)", sub))
  add(paste0(d, "-compare-ratio-by2"), d,
      p(fn = "compare", statistic = "ratio", variable = "api00", denominator = "api99",
        by = list("stype", "awards"), first = list(stype = "E", awards = "Yes"),
        second = list(stype = "M", awards = "No")),
      sprintf(paste("svycontrast(svyby(~api00, ~stype + awards, denominator = ~api99, %s,",
                    "svyratio, covmat = TRUE), c(E.Yes = 1, M.No = -1))"), d))
}

lonely_cases <- function(d, opt, byvar) {
  p <- function(...) list(...)
  id <- function(s) sprintf("%s-%s-%s", d, opt, s)
  add(id("mean"), d, p(fn = "mean", variable = "api00"),
      sprintf("svymean(~api00, %s, deff = TRUE)", d), lonely = opt)
  add(id("total"), d, p(fn = "total", variable = "enroll", na_rm = TRUE),
      sprintf("svytotal(~enroll, %s, na.rm = TRUE)", d), lonely = opt)
  add(id("by-mean"), d, p(fn = "mean", variable = "api00", by = list(byvar)),
      sprintf("svyby(~api00, ~%s, %s, svymean)", byvar, d), lonely = opt)
  sub <- sprintf("subset(%s, meals > 40)", d)
  add(id("subset-mean"), d, p(fn = "mean", variable = "api00", where = "meals > 40", ci = "t"),
      sprintf("svymean(~api00, %s)", sub), ci = sprintf("confint(x, df = degf(%s))", sub),
      df = sprintf("degf(%s)", sub), lonely = opt)
  add(id("by-prop-beta"), d,
      p(fn = "proportion", condition = yes, by = list(byvar), ci = "beta"),
      sprintf(paste("svyby(~I(sch.wide == \"Yes\"), ~%s, %s, svyciprop,",
                    "vartype = c(\"se\", \"ci\"), method = \"beta\")"), byvar, d),
      ci = "cbind(x$ci_l, x$ci_u)", df = sprintf("domain_df(%s, \"%s\", x$%s)", d, byvar, byvar),
      lonely = opt)
  add(id("compare"), d,
      p(fn = "compare", statistic = "mean", variable = "api00", by = list(byvar),
        first = list("Yes"), second = list("No")),
      sprintf("svycontrast(svyby(~api00, ~%s, %s, svymean, covmat = TRUE), c(Yes = 1, No = -1))",
              byvar, d), lonely = opt)
}

for (d in c("srs", "srs_nofpc", "srs_frac", "strat", "strat_nofpc", "strat_implied", "clus1",
            "clus1_nofpc", "clus2", "clus2_w", "clus2_nofpc", "clus2_frac")) {
  standard_cases(d)
}
for (d in c("lonely_strat", "lonely_clus", "lonely_clus_nofpc", "lonely_stage2")) {
  # without fpc only "adjust" and "average" differ from the design with fpc
  opts <- if (d == "lonely_clus_nofpc") c("adjust", "average") else
    c("adjust", "average", "certainty", "remove", "fail")
  for (opt in opts) lonely_cases(d, opt, "awards")
}

# ---- evaluation ----------------------------------------------------------------------

fix_first_second <- function(py) {
  # compare cases on a one-column `by` may give unnamed domain values: name them
  if (!is.null(py$first) && is.null(names(py$first))) {
    names(py$first) <- py$by[[1]]
    names(py$second) <- py$by[[1]]
  }
  py
}

run_case <- function(cs) {
  options(survey.lonely.psu = cs$lonely)
  x <- tryCatch(eval(parse(text = cs$call)), error = function(e) e)
  if (inherits(x, "error")) return(list(error = conditionMessage(x)))
  ci <- matrix(eval(parse(text = cs$ci)), ncol = 2)
  df <- eval(parse(text = cs$df))
  est <- as.vector(coef(x))
  se <- as.vector(SE(x))
  dff <- if (inherits(x, "svyby") && !is.null(attr(x, "svyby")$deffs) &&
             !isFALSE(attr(x, "svyby")$deffs)) as.vector(deff(x)) else
           if (!is.null(attr(x, "deff"))) as.vector(attr(x, "deff")) else rep(NA, length(est))
  rows <- vector("list", length(est))
  byvars <- if (inherits(x, "svyby")) attr(x, "svyby")$margins else integer(0)
  for (i in seq_along(est)) {
    by <- list()
    for (j in byvars) by[[names(x)[j]]] <- as.character(x[i, j])
    rows[[i]] <- list(by = by, estimate = est[i], se = se[i], ci_low = ci[i, 1],
                      ci_high = ci[i, 2], df = rep_len(df, length(est))[i], deff = dff[i])
  }
  if (cs$py$fn == "compare") {
    z <- est / se
    d <- rep_len(df, 1)
    rows[[1]]$p_normal <- 2 * pnorm(-abs(z))
    rows[[1]]$p_t <- 2 * pt(-abs(z), d)
  }
  list(rows = rows)
}

# ---- output as Python data -----------------------------------------------------------

py_value <- function(v) {
  if (is.null(v)) return("None")
  if (is.list(v)) {
    if (!is.null(names(v)) && length(v)) {
      items <- mapply(function(k, x) paste0(py_value(k), ": ", py_value(x)), names(v), v)
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    if (!length(v) && !is.null(names(v))) return("{}")
    if (!length(v)) return("{}")
    return(paste0("[", paste(sapply(v, py_value), collapse = ", "), "]"))
  }
  if (length(v) != 1) return(py_value(as.list(v)))
  if (is.character(v)) {
    s <- gsub("\\\\", "\\\\\\\\", v)
    s <- gsub("\"", "\\\\\"", s)
    s <- gsub("\n", "\\\\n", s)
    return(paste0("\"", s, "\""))
  }
  if (is.logical(v)) return(if (is.na(v)) "None" else if (v) "True" else "False")
  if (is.na(v) && !is.nan(v)) return("None")
  if (is.nan(v)) return("NAN")
  if (is.infinite(v)) return(if (v > 0) "INF" else "-INF")
  sprintf("%.17g", v)
}

lines <- c(
  '"""Reference values from R\'s survey package for tests/indicators/survey/test_against_r.py.',
  "",
  "Generated by tests/r/make_survey_golden.R; regenerate rather than edit. Each case keeps",
  "the R expressions that produced it: `r` (the estimate, object x), `r_ci` (interval from",
  "x), `r_df` (degrees of freedom), evaluated with options(survey.lonely.psu = `lonely_psu`).",
  '"""',
  "",
  "# ruff: noqa: E501",
  "",
  "NAN = float(\"nan\")",
  "INF = float(\"inf\")",
  "",
  sprintf("R_VERSION = %s", py_value(R.version.string)),
  sprintf("SURVEY_VERSION = %s", py_value(as.character(packageVersion("survey")))),
  "",
  "# R's data(api), as the CSV files the tests load into DuckDB.",
  "DESIGNS = {"
)
for (d in designs) {
  lines <- c(lines, sprintf("    %s: {\"r\": %s, \"design\": %s},", py_value(d[[1]]),
                            py_value(d[[2]]), py_value(d[[3]])))
}
lines <- c(lines, "}", "", "CASES = [")
for (cs in cases) {
  res <- run_case(cs)
  py <- fix_first_second(cs$py)
  entry <- list(id = cs$id, design = cs$design, lonely_psu = cs$lonely, r = cs$call,
                r_ci = cs$ci, r_df = cs$df, call = py)
  lines <- c(lines, "    {")
  for (k in names(entry)) lines <- c(lines, sprintf("        %s: %s,", py_value(k), py_value(entry[[k]])))
  if (!is.null(res$error)) {
    lines <- c(lines, sprintf("        \"error\": %s,", py_value(res$error)))
    lines <- c(lines, "        \"expected\": [],")
  } else {
    lines <- c(lines, "        \"expected\": [")
    for (r in res$rows) lines <- c(lines, sprintf("            %s,", py_value(r)))
    lines <- c(lines, "        ],")
  }
  lines <- c(lines, "    },")
}
lines <- c(lines, "]")
writeLines(lines, output)
cat(sprintf("wrote %d cases to %s\n", length(cases), output))
