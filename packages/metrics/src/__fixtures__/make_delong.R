# Writes delong.json, the fixture that the @medssl/metrics DeLong, Holm and normal-distribution tests
# compare against. Reference: R's pROC (Robin et al. 2011) and stats::p.adjust, stats::pnorm, stats::qnorm.
#
#   apt-get install -y r-cran-proc        # pROC 1.18.0 and jsonlite on Debian 12
#   Rscript packages/metrics/src/__fixtures__/make_delong.R
#
# Test data only: pROC is never a run-time or CI dependency. Every case is drawn from a seeded generator,
# so running the script again writes the same file.

suppressPackageStartupMessages({
  library(pROC)
  library(jsonlite)
})

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
here <- dirname(normalizePath(script_path))
set.seed(20240518)

# Two correlated predictors of one binary target: a latent score shared by both (weight `shared`),
# each shifted by `separation` on positives, mapped through the logistic function and rounded to
# `decimals`, which makes ties as real probability outputs have them.
draw_case <- function(name, n, prevalence, separation_a, separation_b, shared = 0.6, decimals = 2) {
  repeat {
    targets <- rbinom(n, 1, prevalence)
    if (sum(targets) >= 2 && sum(1 - targets) >= 2) break
  }
  common <- rnorm(n)
  latent <- function(separation) {
    separation * targets + sqrt(shared) * common + sqrt(1 - shared) * rnorm(n)
  }
  list(
    name = name,
    targets = targets,
    scoresA = round(plogis(latent(separation_a)), decimals),
    scoresB = round(plogis(latent(separation_b)), decimals)
  )
}

# pROC's values for one case. direction "<" fixes controls < cases, so an AUC below 1/2 stays below
# (pROC's default "auto" would flip it); levels fix 0 as control and 1 as case.
delong_case <- function(case) {
  rocA <- roc(case$targets, case$scoresA, levels = c(0, 1), direction = "<", quiet = TRUE)
  rocB <- roc(case$targets, case$scoresB, levels = c(0, 1), direction = "<", quiet = TRUE)
  test95 <- suppressWarnings(roc.test(rocA, rocB, method = "delong", paired = TRUE))
  test90 <- suppressWarnings(roc.test(rocA, rocB, method = "delong", paired = TRUE, conf.level = 0.9))
  ciA95 <- suppressWarnings(ci.auc(rocA, method = "delong"))
  ciA90 <- suppressWarnings(ci.auc(rocA, method = "delong", conf.level = 0.9))
  list(
    name = case$name,
    targets = case$targets,
    scoresA = case$scoresA,
    scoresB = case$scoresB,
    aucA = as.numeric(auc(rocA)),
    aucB = as.numeric(auc(rocB)),
    varianceA = suppressWarnings(var(rocA, method = "delong")),
    varianceB = suppressWarnings(var(rocB, method = "delong")),
    covariance = suppressWarnings(cov(rocA, rocB, method = "delong")),
    z = unname(test95$statistic),
    pValue = test95$p.value,
    interval95 = as.numeric(test95$conf.int),
    interval90 = as.numeric(test90$conf.int),
    # ci.auc gives (lower, median, upper), clipped to [0, 1].
    aucIntervalA95 = as.numeric(ciA95)[c(1, 3)],
    aucIntervalA90 = as.numeric(ciA90)[c(1, 3)]
  )
}

cases <- list(
  draw_case("balanced, two decimals", 300, 0.4, 1.2, 0.9),
  draw_case("imbalanced 6 %", 500, 0.06, 1.5, 1.1),
  draw_case("AUCs near 1", 300, 0.3, 5, 4.2),
  draw_case("heavy ties, one decimal", 80, 0.5, 1, 0.7, decimals = 1),
  draw_case("far apart, tiny p", 400, 0.5, 3, 0.2, shared = 0.2),
  draw_case("B below chance", 200, 0.35, 1, -0.6),
  draw_case("few positives", 120, 0.02, 2, 1)
)
# The same predictor twice: difference 0 and variance 0, which pROC reports as z = 0, p = 1.
identical <- draw_case("identical predictors", 150, 0.4, 1, 1)
identical$scoresB <- identical$scoresA
cases[[length(cases) + 1]] <- identical
# A separates the classes perfectly: its variance is 0, B's is not.
perfect <- draw_case("A perfect", 200, 0.3, 1, 1)
perfect$scoresA <- ifelse(perfect$targets == 1, 0.6 + 0.4 * perfect$scoresA, 0.5 * perfect$scoresA)
perfect$scoresA <- round(perfect$scoresA, 2)
cases[[length(cases) + 1]] <- perfect

delong <- lapply(cases, delong_case)

# Holm's step-down adjustment as stats::p.adjust gives it.
holm_inputs <- list(
  c(0.01, 0.04, 0.03, 0.005),
  c(0.2),
  round(runif(12)^3, 4),
  c(0.01, 0.01, 0.02, 0.02, 0.5, 0.5),
  c(1e-12, 0.9, 1, 0.049, 0.051),
  c(0.3, 0.2, 0.1)
)
holm <- lapply(holm_inputs, function(p) list(pValues = I(p), adjusted = I(p.adjust(p, method = "holm"))))

# The normal distribution, into the far tail where p-values of strong differences lie.
z_values <- c(0, 1e-8, 0.3, 1, 1.5, 1.959963984540054, 2.5, 2.9, 3, 4.5, 6, 8.3, 12, 20, 30, 37.5)
two_sided <- lapply(z_values, function(z) list(z = z, pValue = 2 * pnorm(-abs(z))))
probabilities <- c(0.5, 0.6, 0.9, 0.95, 0.975, 0.995, 0.999999, 0.3, 0.025, 1e-5, 1e-10, 1e-100, 1e-300)
quantiles <- lapply(probabilities, function(p) list(p = p, quantile = qnorm(p)))

document <- list(
  generator = "make_delong.R",
  R = R.version.string,
  pROC = as.character(packageVersion("pROC")),
  delong = delong,
  holm = holm,
  normal = list(twoSided = two_sided, quantiles = quantiles)
)
writeLines(
  toJSON(document, auto_unbox = TRUE, digits = I(17)),
  file.path(here, "delong.json")
)
