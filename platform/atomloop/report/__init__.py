"""Reports: the HTML run report of an active-learning run (:mod:`atomloop.report.run`) and the
pieces every report is built from: self-contained HTML pages (:mod:`atomloop.report.html`),
2-D drawings of molecules (:mod:`atomloop.report.depictions`), the run's plots
(:mod:`atomloop.report.plots`) and markdown tables (:mod:`atomloop.report.markdown`)."""
