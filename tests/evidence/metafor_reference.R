# Reference numbers for tests/evidence/test_meta_vs_metafor.py, from R's metafor (3.8-1).
#
# Run:  Rscript tests/evidence/metafor_reference.R
# Prints one line per number: "<dataset> <method> <test> <quantity> <value>", 15 significant
# digits. The test file holds these numbers written in, so the tests never need R.
#
# Iterative estimators are run with tight tolerances (threshold and tol 1e-12): metafor's
# defaults stop Fisher scoring (REML) at a change below 1e-5 and uniroot (Paule-Mandel) at
# .Machine$double.eps^0.25 (about 1.2e-4), which is looser than the 1e-6 the tests demand.
suppressPackageStartupMessages(library(metafor))
stopifnot(as.character(packageVersion("metafor")) == "3.8.1")

fmt <- function(x) sprintf("%.15g", x)
emit <- function(ds, method, test, name, value) {
  cat(ds, method, test, name, fmt(value), "\n")
}
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)

run <- function(ds, yi, vi) {
  for (i in seq_along(yi)) {
    emit(ds, "-", "-", paste0("yi[", i - 1, "]"), yi[i])
    emit(ds, "-", "-", paste0("vi[", i - 1, "]"), vi[i])
  }
  for (method in c("DL", "REML", "PM")) {
    for (test in c("z", "knha")) {
      fit <- rma(yi, vi, method = method, test = test, control = ctrl)
      pr <- predict(fit)
      emit(ds, method, test, "tau2", fit$tau2)
      emit(ds, method, test, "estimate", c(fit$beta))
      emit(ds, method, test, "se", fit$se)
      emit(ds, method, test, "ci_lb", fit$ci.lb)
      emit(ds, method, test, "ci_ub", fit$ci.ub)
      emit(ds, method, test, "pval", fit$pval)
      emit(ds, method, test, "pi_lb", pr$pi.lb)
      emit(ds, method, test, "pi_ub", pr$pi.ub)
      emit(ds, method, test, "Q", fit$QE)
      emit(ds, method, test, "Q_p", fit$QEp)
      emit(ds, method, test, "I2", fit$I2)
      emit(ds, method, test, "H2", fit$H2)
    }
  }
}

# 1. BCG vaccine trials (metadat's dat.bcg): log risk ratios from the 2x2 counts.
data(dat.bcg, package = "metadat")
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
run("bcg", bcg$yi, bcg$vi)

# 2. Stroke care (metadat's dat.normand1999): standardized mean differences (Hedges' g).
data(dat.normand1999, package = "metadat")
nor <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
              m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
run("normand", nor$yi, nor$vi)

# 3. Continuity correction "only0": a zero cell gets 1/2 added to its study's four cells only.
zero <- escalc(measure = "RR", ai = c(0, 4, 10), n1i = c(20, 30, 40),
               ci = c(3, 0, 8), n2i = c(21, 29, 41))
for (i in seq_along(zero$yi)) {
  emit("zero", "-", "-", paste0("yi[", i - 1, "]"), zero$yi[i])
  emit("zero", "-", "-", paste0("vi[", i - 1, "]"), zero$vi[i])
}

# 4. acuknee's own pooled analyses (src/acuknee/evidence/trials.toml): arm summaries as the
#    Python code derives them (SD from SE times sqrt(n), or from a mean difference's interval).
#    Written with 17 significant digits so R and Python start from the same doubles.
# sham_smd: witt2005_sham, foster2007_sham, hinman2014_sham
d <- escalc(measure = "SMD", m1i = c(26.899999999999999, 2.3199999999999998, -0.40000000000000002), sd1i = c(17.146428199482244, 3.6000000000000001, 2.4147708140618502), n1i = c(150, 117, 70),
            m2i = c(35.799999999999997, 2.5299999999999998, 0), sd2i = c(16.563815985454561, 4.2000000000000002, 2.4147708140618502), n2i = c(76, 119, 70))
run("sham_smd", c(-1, 1, -1) * d$yi, d$vi)  # sign: positive favours acupuncture
# foster_hinman_smd (a reference set, no longer pooled on the page): foster2007_active, hinman2014_no_acupuncture
d <- escalc(measure = "SMD", m1i = c(2.3199999999999998, -1.1000000000000001), sd1i = c(3.6000000000000001, 2.1204038643202963), n1i = c(117, 70),
            m2i = c(2.2799999999999998, 0), sd2i = c(3.7999999999999998, 2.1204038643202963), n2i = c(116, 71))
run("foster_hinman_smd", c(1, -1) * d$yi, d$vi)  # sign: positive favours acupuncture
