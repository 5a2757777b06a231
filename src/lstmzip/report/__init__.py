"""`lstmzip report`: what an archive says about itself (facts.py), as a standalone HTML page (page.py)
and as MultiQC custom-content files (multiqc.py). Nothing here decodes a block or imports TensorFlow;
plotly is imported by page.py only."""
