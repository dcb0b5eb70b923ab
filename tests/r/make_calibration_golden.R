# Reference values for indicators/survey/calibration.py from R's survey::calibrate.
#
# Usage (from the repository root):
#   Rscript tests/r/make_calibration_golden.R [API_DATA_DIR] [OUTPUT]
# API_DATA_DIR holds apistrat.csv, apiclus1.csv, apiclus2.csv (R's data(api) written as CSV;
# defaults to tests/data/api); OUTPUT defaults to tests/calibration_golden.py. The population
# margins are counts of R's own data(apipop). Every case records the exact R expressions.

suppressMessages(library(survey))
options(digits = 17)

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[[1]] else "tests/data/api"
output <- if (length(args) >= 2) args[[2]] else "tests/calibration_golden.py"

read_api <- function(name) {
  read.csv(file.path(data_dir, paste0(name, ".csv")), colClasses = c(cds = "character"))
}
apistrat <- read_api("apistrat")
apiclus1 <- read_api("apiclus1")
apiclus2 <- read_api("apiclus2")
data(api, package = "survey")  # for apipop only: the population the margins count

# Population margins: name, R expression (a data frame with a `total` column).
populations <- list(
  list("pop_stype", "setNames(as.data.frame(table(stype = apipop$stype)), c('stype', 'total'))"),
  list("pop_sch_wide",
       "setNames(as.data.frame(table(sch.wide = apipop$sch.wide)), c('sch.wide', 'total'))"),
  list("pop_awards", "setNames(as.data.frame(table(awards = apipop$awards)), c('awards', 'total'))"),
  list("pop_stype_sch_wide",
       "setNames(as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide)), c('stype', 'sch.wide', 'total'))")
)
for (p in populations) assign(p[[1]], eval(parse(text = p[[2]])))
tab <- function(pop, var) setNames(pop$total, as.character(pop[[var]]))
n_stype <- tab(pop_stype, "stype")
n_sw <- tab(pop_sch_wide, "sch.wide")
n_aw <- tab(pop_awards, "awards")
n_sw_by <- with(pop_stype_sch_wide, setNames(total, paste0(stype, ":", sch.wide)))

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = apiclus2)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
# The crossed margin stype x sch.wide as one factor (levels "E No", "E Yes", ...).
apiclus1x <- transform(apiclus1, stsw = paste(stype, sch.wide))
dclus1x <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1x, fpc = ~fpc)

# R's population vectors, in model.matrix order (intercept, treatment contrasts).
pop1 <- c(`(Intercept)` = sum(n_stype), stypeH = n_stype[["H"]], stypeM = n_stype[["M"]])
pop2 <- c(pop1, sch.wideYes = n_sw[["Yes"]])
pop3 <- c(`(Intercept)` = sum(n_sw), sch.wideYes = n_sw[["Yes"]], awardsYes = n_aw[["Yes"]])
n_stsw <- with(pop_stype_sch_wide, setNames(total, paste(stype, sch.wide)))[sort(unique(apiclus1x$stsw))]
pop5 <- c(`(Intercept)` = sum(n_stsw), setNames(n_stsw[-1], paste0("stsw", names(n_stsw)[-1])))
pop4 <- c(pop1, `stypeE:sch.wideYes` = n_sw_by[["E:Yes"]],
          `stypeH:sch.wideYes` = n_sw_by[["H:Yes"]], `stypeM:sch.wideYes` = n_sw_by[["M:Yes"]])

# name, R call, python design, margins (variables, population table), by, calfun, bounds, id
calibrations <- list(
  list("clus1_linear", "calibrate(dclus1, ~stype, pop1)",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("stype"), population = "pop_stype")), list(), "linear", NULL,
       "snum", dclus1),
  list("clus1_raking", "calibrate(dclus1, ~stype + sch.wide, pop2, calfun = \"raking\")",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("stype"), population = "pop_stype"),
            list(variables = list("sch.wide"), population = "pop_sch_wide")),
       list(), "raking", NULL, "snum", dclus1),
  list("clus1_bounded", "calibrate(dclus1, ~stype + sch.wide, pop2, bounds = c(0.5, 1.7))",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("stype"), population = "pop_stype"),
            list(variables = list("sch.wide"), population = "pop_sch_wide")),
       list(), "linear", c(0.5, 1.7), "snum", dclus1),
  list("clus1_raking_bounded",
       "calibrate(dclus1, ~stype + sch.wide, pop2, calfun = \"raking\", bounds = c(0.5, 1.7))",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("stype"), population = "pop_stype"),
            list(variables = list("sch.wide"), population = "pop_sch_wide")),
       list(), "raking", c(0.5, 1.7), "snum", dclus1),
  list("clus1_by_stype", "calibrate(dclus1, ~stype + stype:sch.wide, pop4)",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("sch.wide"), population = "pop_stype_sch_wide")),
       list("stype"), "linear", NULL, "snum", dclus1),
  list("clus1_crossed", "calibrate(dclus1x, ~stsw, pop5, calfun = \"raking\")",
       list(source = "apiclus1", psu = list("dnum"), weights = "pw", fpc = list("fpc")),
       list(list(variables = list("stype", "sch.wide"), population = "pop_stype_sch_wide")),
       list(), "raking", NULL, "snum", dclus1x),
  list("strat_raking", "calibrate(dstrat, ~sch.wide + awards, pop3, calfun = \"raking\")",
       list(source = "apistrat", strata = "stype", psu = list("snum"), weights = "pw",
            fpc = list("fpc")),
       list(list(variables = list("sch.wide"), population = "pop_sch_wide"),
            list(variables = list("awards"), population = "pop_awards")),
       list(), "raking", NULL, "snum", dstrat),
  list("clus2_linear", "calibrate(dclus2, ~stype, pop1)",
       list(source = "apiclus2", psu = list("dnum", "snum"), weights = "pw",
            fpc = list("fpc1", "fpc2")),
       list(list(variables = list("stype"), population = "pop_stype")), list(), "linear", NULL,
       "snum", dclus2)
)

# Estimates on each calibrated design `cal`: id, R call, python call. Proportions are
# svyciprop (logit) by domain, as the survey indicators publish them.
estimates <- list(
  list("mean-api00", "svymean(~api00, cal, deff = TRUE)", list(fn = "mean", variable = "api00")),
  list("total-enroll", "svytotal(~enroll, cal, na.rm = TRUE, deff = TRUE)",
       list(fn = "total", variable = "enroll", na_rm = TRUE)),
  list("mean-api00-by-stype", "svyby(~api00, ~stype, cal, svymean, deff = TRUE)",
       list(fn = "mean", variable = "api00", by = list("stype"))),
  list("ratio-api00-api99", "svyratio(~api00, ~api99, cal, deff = TRUE)",
       list(fn = "ratio", numerator = "api00", denominator = "api99")),
  list("prop-api00-700-by-stype",
       "svyby(~I(api00 > 700), ~stype, cal, svyciprop, vartype = c(\"se\", \"ci\"))",
       list(fn = "proportion", condition = "api00 > 700", by = list("stype")),
       "svyby(~as.numeric(api00 > 700), ~stype, cal, svymean)")
)
# A proportion's estimate is svymean's: svyciprop's own comes from glm's iterations, which
# stop some 1e-10 short of it; its standard error and interval are svyciprop's.

rows_of <- function(x) {
  if (inherits(x, "svyby")) {
    # svyby(..., svyciprop) keeps the proportions' own intervals; confint() would be Wald's.
    ci <- if (!is.null(x$ci_l)) cbind(x$ci_l, x$ci_u) else confint(x)
    se <- SE(x)
    est <- coef(x)
    keys <- rownames(as.data.frame(x))
    d <- if (is.null(x$ci_l)) deff(x) else NULL
    lapply(seq_along(est), function(i) {
      list(by = list(stype = keys[[i]]), estimate = unname(est[[i]]), se = unname(se[[i]]),
           ci_low = unname(ci[i, 1]), ci_high = unname(ci[i, 2]),
           deff = if (is.null(d)) NULL else unname(d[[i]]))
    })
  } else {
    ci <- confint(x)
    list(list(by = setNames(list(), character(0)), estimate = unname(coef(x)[[1]]),
              se = unname(SE(x)[[1]]), ci_low = unname(ci[1, 1]), ci_high = unname(ci[1, 2]),
              deff = unname(deff(x)[[1]])))
  }
}

py_value <- function(v) {
  if (is.null(v)) return("None")
  if (is.list(v)) {
    if (!is.null(names(v)) && length(v)) {
      items <- mapply(function(k, x) paste0(py_value(k), ": ", py_value(x)), names(v), v)
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    if (!length(v) && !is.null(names(v))) return("{}")
    if (!length(v)) return("[]")
    return(paste0("[", paste(sapply(v, py_value), collapse = ", "), "]"))
  }
  if (length(v) != 1) return(py_value(as.list(v)))
  if (is.factor(v)) v <- as.character(v)
  if (is.character(v)) {
    s <- gsub("\\\\", "\\\\\\\\", v)
    s <- gsub("\"", "\\\\\"", s)
    return(paste0("\"", s, "\""))
  }
  if (is.logical(v)) return(if (is.na(v)) "None" else if (v) "True" else "False")
  if (is.na(v)) return("None")
  sprintf("%.17g", v)
}

lines <- c(
  '"""Reference values from R\'s survey::calibrate for tests/indicators/survey/test_calibration.py.',
  "",
  "Generated by tests/r/make_calibration_golden.R; regenerate rather than edit. POPULATIONS",
  "are the margins (counts of R's data(apipop)) with the R expression of each; CALIBRATIONS",
  "the calibrated designs (`r`, evaluated to `cal`) with every calibrated weight by row id;",
  "CASES the estimates on them (with R's design effect, `deff = TRUE`, but for proportions),",
  "each with its R call (`r`), that of its interval (`r_ci`) and,",
  "for proportions, the svymean giving the estimate itself (`r_estimate`).",
  '"""',
  "",
  "# ruff: noqa: E501",
  "",
  sprintf("R_VERSION = %s", py_value(R.version.string)),
  sprintf("SURVEY_VERSION = %s", py_value(as.character(packageVersion("survey")))),
  "",
  "POPULATIONS = {"
)
for (p in populations) {
  df <- get(p[[1]])
  rows <- lapply(seq_len(nrow(df)), function(i) lapply(df[i, ], function(x) {
    if (is.factor(x)) as.character(x) else as.numeric(x)
  }))
  lines <- c(lines, sprintf("    %s: {\"r\": %s, \"columns\": %s, \"rows\": %s},",
                            py_value(p[[1]]), py_value(p[[2]]), py_value(as.list(names(df))),
                            py_value(lapply(rows, unname))))
}
lines <- c(lines, "}", "", "CALIBRATIONS = {")
cases <- list()
for (cl in calibrations) {
  cal <- eval(parse(text = cl[[2]]))
  base <- cl[[9]]
  ids <- base$variables[[cl[[8]]]]
  w <- weights(cal)
  entry <- list(r = cl[[2]], design = cl[[3]], margins = cl[[4]], by = cl[[5]],
                calfun = cl[[6]], bounds = if (is.null(cl[[7]])) NULL else as.list(cl[[7]]),
                id = cl[[8]],
                weights = lapply(order(ids), function(i) list(ids[[i]], unname(w[[i]]))))
  lines <- c(lines, sprintf("    %s: {", py_value(cl[[1]])))
  for (k in names(entry)) {
    lines <- c(lines, sprintf("        %s: %s,", py_value(k), py_value(entry[[k]])))
  }
  lines <- c(lines, "    },")
  for (es in estimates) {
    x <- eval(parse(text = es[[2]]))
    rows <- rows_of(x)
    if (length(es) >= 4) {
      exact <- coef(eval(parse(text = es[[4]])))
      for (i in seq_along(rows)) rows[[i]]$estimate <- unname(exact[[i]])
    }
    cases[[length(cases) + 1]] <- list(id = paste(cl[[1]], es[[1]], sep = "-"),
                                       calibration = cl[[1]], r = es[[2]],
                                       r_ci = if (es[[3]]$fn == "proportion")
                                         "cbind(x$ci_l, x$ci_u)" else "confint(x)",
                                       r_estimate = if (length(es) >= 4) es[[4]] else NULL,
                                       call = es[[3]], expected = rows)
  }
}
lines <- c(lines, "}", "", "CASES = [")
for (cs in cases) {
  lines <- c(lines, "    {")
  for (k in c("id", "calibration", "r", "r_estimate", "r_ci", "call")) {
    if (is.null(cs[[k]])) next
    lines <- c(lines, sprintf("        %s: %s,", py_value(k), py_value(cs[[k]])))
  }
  lines <- c(lines, "        \"expected\": [")
  for (r in cs$expected) lines <- c(lines, sprintf("            %s,", py_value(r)))
  lines <- c(lines, "        ],", "    },")
}
# Calibrations R refuses: the message of R, and ours is asked to name the margin.
failing <- "calibrate(dclus1, ~stype + sch.wide, pop2, bounds = c(0.9, 1.1))"
failure <- tryCatch(withCallingHandlers(eval(parse(text = failing)),
                                        warning = function(w) {
                                          assign("r_warning", conditionMessage(w), globalenv())
                                          invokeRestart("muffleWarning")
                                        }),
                    error = function(e) conditionMessage(e))
lines <- c(lines, "]", "", "# R's warning then error for bounds no weights can meet.",
           sprintf("NOT_CONVERGING = {\"r\": %s, \"r_warning\": %s, \"r_error\": %s}",
                   py_value(failing), py_value(r_warning), py_value(failure)))

# The sample project (data/sample): its respondents of département 34 in 2024 (the rows of
# data/sample/raw/aes_survey.parquet for communes 34057, 34129, 34172, as
# tests/data/calibration/aes_dep34_2024.csv), raked to the département's population of
# 18-69 year olds by sex and by age band (data/sample/raw/population.xlsx), as a project
# with `calibration: {level: DEP}` does. Strata lie within communes, so these rows hold
# whole strata of the sample's design.
aes <- read.csv("tests/data/calibration/aes_dep34_2024.csv",
                colClasses = c(IDENT = "character", COM = "character", STRATE = "character",
                               GRAPPE = "character", SEXE = "character"))
aes <- transform(aes, sex = ifelse(SEXE == "1", "M", "F"), stratum = paste(ANNEE, STRATE, sep = "/"),
                 psu = paste(ANNEE, STRATE, GRAPPE, sep = "/"))
popx <- as.data.frame(readxl::read_excel("data/sample/raw/population.xlsx", sheet = "Population", skip = 2))
popx <- subset(popx, CODGEO %in% c("34057", "34129", "34172") & ANNEE == 2024 &
                 TRANCHE_AGE %in% c("18-24", "25-34", "35-44", "45-54", "55-64", "65-69"))
n_sex <- tapply(popx$POP, ifelse(popx$SEXE == "1", "M", "F"), sum)
n_age <- tapply(popx$POP, popx$TRANCHE_AGE, sum)
sample_pop <- c(`(Intercept)` = sum(popx$POP), sexM = n_sex[["M"]],
                setNames(n_age[-1], paste0("TRAGE", names(n_age)[-1])))
daes <- svydesign(id = ~psu, strata = ~stratum, weights = ~POIDS, data = aes)
sample_r <- "calibrate(daes, ~sex + TRAGE, sample_pop, calfun = \"raking\")"
cal <- eval(parse(text = sample_r))
dep <- svyciprop(~I(FED12 == 1), cal, na.rm = TRUE)
dep_mean <- svymean(~as.numeric(FED12 == 1), cal, na.rm = TRUE)
com <- svyby(~I(FED12 == 1), ~COM, cal, svyciprop, vartype = c("se", "ci"), na.rm = TRUE)
com_mean <- svyby(~as.numeric(FED12 == 1), ~COM, cal, svymean, na.rm = TRUE)
sample_rows <- c(
  list(list(by = list(`_territory` = "34", `_level` = "DEP", year = 2024L),
            estimate = unname(coef(dep_mean)[[1]]), se = unname(SE(dep)[[1]]),
            ci_low = unname(attr(dep, "ci")[[1]]), ci_high = unname(attr(dep, "ci")[[2]]))),
  lapply(seq_len(nrow(com)), function(i) {
    list(by = list(`_territory` = com$COM[[i]], `_level` = "COM", year = 2024L),
         estimate = unname(coef(com_mean)[[i]]), se = unname(SE(com)[[i]]),
         ci_low = com$ci_l[[i]], ci_high = com$ci_u[[i]])
  }))
sample_entry <- list(
  r_design = "svydesign(id = ~psu, strata = ~stratum, weights = ~POIDS, data = aes)",
  r = sample_r,
  r_estimates = c("svyciprop(~I(FED12 == 1), cal, na.rm = TRUE)",
                  "svyby(~I(FED12 == 1), ~COM, cal, svyciprop, vartype = c(\"se\", \"ci\"), na.rm = TRUE)"),
  r_estimate = "svymean / svyby(svymean) of ~as.numeric(FED12 == 1), na.rm = TRUE",
  rules = list(method = "raking", level = "DEP"),
  condition = "formal_12m = 1",
  population = as.list(sample_pop),
  weights = lapply(order(aes$IDENT), function(i) list(aes$IDENT[[i]], unname(weights(cal)[[i]]))),
  expected = sample_rows)
lines <- c(lines, "", "# The sample project's département 34 in 2024, calibrated by raking to its population.",
           "SAMPLE = {")
for (k in names(sample_entry)) {
  lines <- c(lines, sprintf("    %s: %s,", py_value(k), py_value(sample_entry[[k]])))
}
lines <- c(lines, "}")
writeLines(lines, output)
cat(sprintf("wrote %d calibrations and %d cases to %s\n", length(calibrations),
            length(cases), output))
