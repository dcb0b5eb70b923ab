# Reference values for tests/indicators/survey/test_covariance_against_r.py: changes over a
# panel of PSUs and gaps between nested domains, from R's survey package (svyby with
# covmat = TRUE, then svycontrast). Usage, from the repository root:
#   Rscript tests/r/covariance_checks.R [SAMPLE_CSV]
# SAMPLE_CSV is the sample's survey responses as the test module's SAMPLE_EXPORT query writes
# them; without it only the api cases run.
suppressMessages(library(survey))
options(digits = 17, survey.lonely.psu = "fail")
show <- function(label, x) cat(label, sprintf("%.17g %.17g", coef(x), SE(x)), "\n")

# api: every school of apiclus2 surveyed in 1999 (api99) and 2000 (api00), the same PSUs.
d <- read.csv("tests/data/api/apiclus2.csv")
panel <- rbind(transform(d, year = 1999, api = api99), transform(d, year = 2000, api = api00))
panel$high <- as.numeric(panel$api > 700)
panel$pp <- paste(panel$stype, panel$dnum, sep = "/")
panel$h <- paste(panel$year, panel$stype, sep = "/")
panel$p <- paste(panel$year, panel$stype, panel$dnum, sep = "/")
dp <- svydesign(id = ~pp, strata = ~stype, weights = ~pw, data = panel, nest = TRUE)
di <- svydesign(id = ~p, strata = ~h, weights = ~pw, data = panel, nest = TRUE)
for (s in c("E", "H", "M")) {
  w <- setNames(rep(0, 6), c("1999.E", "2000.E", "1999.H", "2000.H", "1999.M", "2000.M"))
  w[paste("2000", s, sep = ".")] <- 1; w[paste("1999", s, sep = ".")] <- -1
  show(paste("panel", s), svycontrast(svyby(~high, ~year + stype, dp, svymean, covmat = TRUE), w))
  show(paste("independent", s),
       svycontrast(svyby(~high, ~year + stype, di, svymean, covmat = TRUE), w))
}
# api: elementary schools against all schools (a domain inside another), rows stacked.
d$high <- as.numeric(d$api00 > 700)
st <- rbind(transform(d[d$stype == "E", ], dom = "E"), transform(d, dom = "ALL"))
g <- svydesign(id = ~dnum, weights = ~pw, data = st)
show("gap E-ALL", svycontrast(svyby(~high, ~dom, g, svymean, covmat = TRUE), c(ALL = -1, E = 1)))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 1) {
  s <- read.csv(args[[1]], colClasses = c(stratum = "character", psu = "character",
                                          commune = "character"))
  s$pop <- as.logical(s$pop)
  s$dep <- substr(s$commune, 1, 2)
  # A stratum holding the same PSUs both years is one stratum: its code without the year.
  s$panel_stratum <- sub("^[0-9]{4}-", "", s$stratum)
  d <- svydesign(id = ~psu, strata = ~panel_stratum, weights = ~weight, data = s, nest = TRUE)
  for (where in list(c("COM 34172", "commune == '34172'"), c("DEP 34", "dep == '34'"))) {
    keep <- eval(parse(text = where[[2]]), s) & s$pop & !is.na(s$y)
    x <- svyby(~y, ~year, subset(d, keep), svymean, covmat = TRUE)
    show(paste("LL01 change", where[[1]]), svycontrast(x, c(-100, 100)))
    cat("degf", where[[1]], degf(subset(d, keep)), "\n")
  }
  y24 <- s[s$year == 2024, ]
  st <- rbind(transform(y24[y24$commune == "34172", ], dom = "COM"),
              transform(y24[y24$dep == "34", ], dom = "DEP"))
  g <- svydesign(id = ~psu, strata = ~stratum, weights = ~weight, data = st, nest = TRUE)
  keep <- st$pop & !is.na(st$y)
  b <- svyby(~y, ~dom, subset(g, keep), svymean, covmat = TRUE)
  show("LL01 gap 2024 COM 34172 - DEP 34", svycontrast(b, c(COM = 100, DEP = -100)))
}
