"""synth/: research trees (sample, blur, prove unique, render, export).

Not built yet: see issue 3. It will read the graph only through graph/.
"""
