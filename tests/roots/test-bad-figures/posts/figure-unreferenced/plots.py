import matplotlib.pyplot as plt


def plot():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return fig
